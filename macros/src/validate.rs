//! Checks that a function can be measured, and decides how to measure it.

use syn::{Attribute, Block, Expr, ExprCall, GenericParam, Signature, Stmt, Type};

use crate::args::Options;

/// The measuring strategy for a function body.
pub(crate) enum Shape<'a> {
    /// A synchronous body: a guard at its top records the call when it drops.
    Sync,
    /// An `async fn` body: it moves into an instrumented `async move` block
    /// that is measured poll by poll.
    Async,
    /// A function whose whole body is the call `Box::pin(async move { ... })`,
    /// which is what `#[async_trait]` generates for an `async fn`. The async
    /// block inside the call is measured poll by poll.
    BoxedFuture(&'a ExprCall),
}

/// The placement of the attribute that applies to a function.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// On the function itself.
    Function,
    /// On the `impl` block or trait that contains the function.
    Container,
}

/// Checks the options of the attribute written on a function.
pub(crate) fn check_function_options(options: &Options) -> syn::Result<()> {
    match &options.skip {
        Some(skip) => Err(syn::Error::new(
            skip.span(),
            "`skip` only applies to a method of an `impl` block or trait that has `#[profile_memory]`; \
             remove `#[profile_memory(skip)]` to leave this function unmeasured",
        )),
        None => Ok(()),
    }
}

/// Checks the options of the attribute written on an `impl` block or trait.
pub(crate) fn check_container_options(options: &Options) -> syn::Result<()> {
    if let Some(skip) = &options.skip {
        return Err(syn::Error::new(
            skip.span(),
            "`skip` applies to one method; put `#[profile_memory(skip)]` on the method, \
             or remove `#[profile_memory]` from this block",
        ));
    }
    if let Some(name) = &options.name {
        return Err(syn::Error::new(
            name.span(),
            "`name` names one function; put `#[profile_memory(name = \"...\")]` on the method instead",
        ));
    }
    Ok(())
}

/// Checks the options of an attribute written on a method inside an
/// instrumented `impl` block or trait.
pub(crate) fn check_nested_options(options: &Options) -> syn::Result<()> {
    if let (Some(skip), Some(_)) = (&options.skip, &options.name) {
        return Err(syn::Error::new(
            skip.span(),
            "`skip` and `name` cannot be combined in `#[profile_memory]`; remove one of them",
        ));
    }
    Ok(())
}

/// Checks that a function can be measured and returns how to measure it.
pub(crate) fn check_function<'a>(
    attrs: &[Attribute],
    sig: &Signature,
    body: Option<&'a Block>,
    placement: Placement,
) -> syn::Result<Shape<'a>> {
    if let Some(constness) = &sig.constness {
        let advice = match placement {
            Placement::Function => "remove `#[profile_memory]` or `const`",
            Placement::Container => "add `#[profile_memory(skip)]` to this method or remove `const`",
        };
        return Err(syn::Error::new(
            constness.span,
            format!("`#[profile_memory]` cannot measure a `const fn` because its body must stay const; {advice}"),
        ));
    }

    if let Some(naked) = attrs.iter().find(|attr| is_naked(attr)) {
        return Err(syn::Error::new_spanned(
            naked,
            "`#[profile_memory]` cannot measure a naked function because its body must be a single `naked_asm!`; \
             remove `#[profile_memory]`",
        ));
    }

    let Some(body) = body else {
        return Err(syn::Error::new_spanned(
            sig,
            "`#[profile_memory]` needs a function body; put it on a method that has one, such as the method's implementation",
        ));
    };

    if sig.asyncness.is_some() {
        return Ok(Shape::Async);
    }
    if let Some(call) = boxed_async_block(sig, body) {
        return Ok(Shape::BoxedFuture(call));
    }
    if has_async_trait_lifetime(sig) {
        return Err(syn::Error::new(
            sig.ident.span(),
            "`#[profile_memory]` cannot find the `async` body in this method that `#[async_trait]` rewrote; \
             put `#[profile_memory]` above `#[async_trait]` on the `impl` block or trait",
        ));
    }
    Ok(Shape::Sync)
}

/// Returns the call of a body that is exactly `Box::pin(async move { ... })`
/// in a function returning `Pin<...>`.
fn boxed_async_block<'a>(sig: &Signature, body: &'a Block) -> Option<&'a ExprCall> {
    let syn::ReturnType::Type(_, output) = &sig.output else {
        return None;
    };
    let Type::Path(output) = output.as_ref() else {
        return None;
    };
    if output.path.segments.last().is_none_or(|segment| segment.ident != "Pin") {
        return None;
    }

    let [Stmt::Expr(Expr::Call(call), None)] = body.stmts.as_slice() else {
        return None;
    };
    let Expr::Path(function) = call.func.as_ref() else {
        return None;
    };
    let mut segments = function.path.segments.iter().rev();
    let is_box_pin = segments.next().is_some_and(|segment| segment.ident == "pin")
        && segments.next().is_some_and(|segment| segment.ident == "Box");
    if !is_box_pin || call.args.len() != 1 {
        return None;
    }
    match call.args.first() {
        Some(Expr::Async(future)) if future.capture.is_some() => Some(call),
        _ => None,
    }
}

/// Returns true when the signature has the `'async_trait` lifetime that
/// `#[async_trait]` adds to the methods it rewrites.
fn has_async_trait_lifetime(sig: &Signature) -> bool {
    sig.generics.params.iter().any(|param| match param {
        GenericParam::Lifetime(lifetime) => lifetime.lifetime.ident == "async_trait",
        _ => false,
    })
}

/// Returns true for `#[naked]` and `#[unsafe(naked)]`.
fn is_naked(attr: &Attribute) -> bool {
    if attr.path().is_ident("naked") {
        return true;
    }
    if !attr.path().is_ident("unsafe") {
        return false;
    }
    let mut naked = false;
    // An `unsafe(...)` attribute that does not parse as a list of paths is
    // some other attribute, so a parse error only means "not naked".
    let _ = attr.parse_nested_meta(|meta| {
        naked |= meta.path.is_ident("naked");
        Ok(())
    });
    naked
}
