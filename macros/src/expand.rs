//! Generation of the instrumented item.
//!
//! Generated tokens carry `Span::mixed_site()`, so that their locals cannot
//! clash with the user's and lints treat them as macro-generated. The user's
//! tokens keep their own spans, and each body is emitted exactly once.

use proc_macro2::{Delimiter, Group, Literal, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{
    AttrStyle, Attribute, Block, Expr, ExprCall, ImplItem, Item, ItemFn, ItemImpl, ItemTrait, ReturnType, Signature,
    TraitItem, TraitItemFn, Type,
};

use crate::args::{self, Options};
use crate::validate::{self, Placement, Shape};

/// Errors found while expanding, combined into one `syn::Error`.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn into_error(self) -> Option<syn::Error> {
        self.0
    }
}

/// Expands `#[profile_memory(args)]` on `item`. Returns the tokens to emit
/// and the errors found. Wherever there is an error, the function concerned
/// is emitted as written.
pub(crate) fn attribute(args: TokenStream, item: TokenStream) -> (TokenStream, Errors) {
    let mut errors = Errors::default();

    // Rustc parsed the item before calling the attribute and reported any
    // syntax error in it. Returning the tokens unchanged lets rustc report it
    // at the user's code, once, with no second error from here.
    let Ok(parsed) = syn::parse2::<Item>(item.clone()) else {
        return (item, errors);
    };

    let options = match args::parse(args) {
        Ok(options) => Some(options),
        Err(error) => {
            errors.push(error);
            None
        }
    };

    let output = match parsed {
        Item::Fn(function) => function_item(&function, options.as_ref(), &mut errors).unwrap_or(item),
        Item::Impl(block) => impl_block(block, options.as_ref(), &mut errors),
        Item::Trait(block) => trait_block(block, options.as_ref(), &mut errors),
        Item::Verbatim(tokens) => {
            // A method without a body, such as a required trait method, parses
            // as a verbatim item.
            match syn::parse2::<TraitItemFn>(tokens) {
                Ok(method) => {
                    if let Err(error) = validate::check_function(&method.attrs, &method.sig, None, Placement::Function)
                    {
                        errors.push(error);
                    }
                }
                Err(_) => errors.push(unsupported_item(&item)),
            }
            item
        }
        _ => {
            errors.push(unsupported_item(&item));
            item
        }
    };
    (output, errors)
}

/// Returns `item` as written, for the `off` feature. The one change is on an
/// `impl` block or trait: it removes the `#[profile_memory(...)]` attributes
/// of the methods, because a bare `#[profile_memory(skip)]` there resolves
/// only through the attribute on the block.
pub(crate) fn compiled_out(item: TokenStream) -> TokenStream {
    let mut removed = false;
    let stripped = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Impl(mut block)) => {
            for entry in &mut block.items {
                if let ImplItem::Fn(method) = entry {
                    removed |= remove_own_attributes(&mut method.attrs);
                }
            }
            block.into_token_stream()
        }
        Ok(Item::Trait(mut block)) => {
            for entry in &mut block.items {
                if let TraitItem::Fn(method) = entry {
                    removed |= remove_own_attributes(&mut method.attrs);
                }
            }
            block.into_token_stream()
        }
        _ => return item,
    };
    if removed { stripped } else { item }
}

/// Removes the `#[profile_memory(...)]` attributes of a method. Returns
/// whether there was one.
fn remove_own_attributes(attrs: &mut Vec<Attribute>) -> bool {
    let before = attrs.len();
    attrs.retain(|attr| !args::is_profile_memory(attr));
    attrs.len() != before
}

/// Expands the attribute written on a function. Returns `None` when the
/// function must be emitted as written.
fn function_item(function: &ItemFn, options: Option<&Options>, errors: &mut Errors) -> Option<TokenStream> {
    let options = options?;
    if let Err(error) = validate::check_function_options(options) {
        errors.push(error);
        return None;
    }
    let shape =
        match validate::check_function(&function.attrs, &function.sig, Some(&function.block), Placement::Function) {
            Ok(shape) => shape,
            Err(error) => {
                errors.push(error);
                return None;
            }
        };

    let site = site_declaration(&function.sig, None, options.name.as_ref());
    let body = instrumented_body(&function.sig, &function.block, &function.attrs, &shape, &site);
    let outer = outer_attributes(&function.attrs);
    let vis = &function.vis;
    let sig = &function.sig;
    Some(quote!(#(#outer)* #vis #sig #body))
}

/// Expands the attribute written on an `impl` block: each method with a body
/// is instrumented and named `Type::method`.
fn impl_block(mut block: ItemImpl, options: Option<&Options>, errors: &mut Errors) -> TokenStream {
    let enabled = container_enabled(options, errors);
    let container = type_name(&block.self_ty);

    for item in &mut block.items {
        let ImplItem::Fn(method) = item else { continue };
        let Some(body) = method_body(&mut method.attrs, &method.sig, Some(&method.block), &container, enabled, errors)
        else {
            continue;
        };
        let outer = outer_attributes(&method.attrs);
        let vis = &method.vis;
        let defaultness = &method.defaultness;
        let sig = &method.sig;
        *item = ImplItem::Verbatim(quote!(#(#outer)* #vis #defaultness #sig #body));
    }
    block.into_token_stream()
}

/// Expands the attribute written on a trait: each method with a default body
/// is instrumented and named `Trait::method`.
fn trait_block(mut block: ItemTrait, options: Option<&Options>, errors: &mut Errors) -> TokenStream {
    let enabled = container_enabled(options, errors);
    let container = block.ident.unraw().to_string();

    for item in &mut block.items {
        let TraitItem::Fn(method) = item else { continue };
        let Some(body) =
            method_body(&mut method.attrs, &method.sig, method.default.as_ref(), &container, enabled, errors)
        else {
            continue;
        };
        let outer = outer_attributes(&method.attrs);
        let sig = &method.sig;
        *item = TraitItem::Verbatim(quote!(#(#outer)* #sig #body));
    }
    block.into_token_stream()
}

/// Returns whether the methods of an `impl` block or trait are instrumented,
/// which needs valid options on its attribute.
fn container_enabled(options: Option<&Options>, errors: &mut Errors) -> bool {
    let Some(options) = options else { return false };
    match validate::check_container_options(options) {
        Ok(()) => true,
        Err(error) => {
            errors.push(error);
            false
        }
    }
}

/// Handles one method of an instrumented `impl` block or trait. Removes the
/// method's own `#[profile_memory(...)]` attribute, which the container's
/// attribute takes over, and returns the instrumented body, or `None` when
/// the method stays as written.
fn method_body(
    attrs: &mut Vec<Attribute>,
    sig: &Signature,
    body: Option<&Block>,
    container: &str,
    enabled: bool,
    errors: &mut Errors,
) -> Option<TokenStream> {
    let own = take_own_attribute(attrs, errors);
    if !enabled {
        return None;
    }
    let options = match own {
        OwnAttribute::Invalid => return None,
        OwnAttribute::Absent if body.is_none() => return None,
        OwnAttribute::Absent => Options::default(),
        OwnAttribute::Present(options) => options,
    };
    if options.skip.is_some() {
        return None;
    }

    let shape = match validate::check_function(attrs, sig, body, Placement::Container) {
        Ok(shape) => shape,
        Err(error) => {
            errors.push(error);
            return None;
        }
    };
    let block = body?;
    let site = site_declaration(sig, Some(container), options.name.as_ref());
    Some(instrumented_body(sig, block, attrs, &shape, &site))
}

/// The `#[profile_memory(...)]` attribute of a method inside an instrumented
/// `impl` block or trait.
enum OwnAttribute {
    Absent,
    Invalid,
    Present(Options),
}

fn take_own_attribute(attrs: &mut Vec<Attribute>, errors: &mut Errors) -> OwnAttribute {
    let mut own = OwnAttribute::Absent;
    let mut seen = false;
    let mut kept = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        if !args::is_profile_memory(&attr) {
            kept.push(attr);
            continue;
        }
        if seen {
            errors.push(syn::Error::new_spanned(
                &attr,
                "duplicate `#[profile_memory]` on this method; merge the options into one attribute",
            ));
            own = OwnAttribute::Invalid;
            continue;
        }
        seen = true;
        let parsed = args::parse_nested(&attr).and_then(|options| {
            validate::check_nested_options(&options)?;
            Ok(options)
        });
        own = match parsed {
            Ok(options) => OwnAttribute::Present(options),
            Err(error) => {
                errors.push(error);
                OwnAttribute::Invalid
            }
        };
    }
    *attrs = kept;
    own
}

/// Returns the new body of a function: its inner attributes, the site, the
/// measurement, and the user's statements.
fn instrumented_body(
    sig: &Signature,
    block: &Block,
    attrs: &[Attribute],
    shape: &Shape<'_>,
    site: &TokenStream,
) -> TokenStream {
    let span = Span::mixed_site();
    let inner = attrs.iter().filter(|attr| matches!(attr.style, AttrStyle::Inner(_)));
    let stmts = &block.stmts;

    let content = match shape {
        Shape::Sync => quote_spanned! {span=>
            #(#inner)*
            #site
            let __heapmeter_guard = ::heapmeter::__private::Guard::enter(&__HEAPMETER_SITE);
            #(#stmts)*
        },
        Shape::Async if returns_never(sig) => {
            // The body diverges, so no coercion inside it needs the return
            // type, and the `.await` below unifies the block's output with
            // `!`. The marker would add a `return` of a diverging value, which
            // `unreachable_code` reports even in generated code.
            let future_body = braced(block.brace_token.span.join().resolved_at(span), quote!(#(#stmts)*));
            quote_spanned! {span=>
                #(#inner)*
                #site
                ::heapmeter::__private::Instrumented::new(&__HEAPMETER_SITE, async move #future_body).await
            }
        }
        Shape::Async => {
            // The marker ties the inner block's return type to the function's
            // declared one without writing the type. `OutputOf` in the runtime
            // explains why both `if false` returns are needed.
            // Located at the declared return type, so that a mismatch in the
            // body says "return type inferred to be ... here" at that type.
            let output_span = match &sig.output {
                ReturnType::Type(_, ty) => span.located_at(ty.span()),
                ReturnType::Default => span,
            };
            let future_body = braced(
                block.brace_token.span.join().resolved_at(span),
                quote_spanned! {output_span=>
                    if false {
                        return __heapmeter_output.output();
                    }
                    #(#stmts)*
                },
            );
            quote_spanned! {span=>
                #(#inner)*
                #site
                let __heapmeter_output = ::heapmeter::__private::OutputOf::new();
                if false {
                    return __heapmeter_output.output();
                }
                ::heapmeter::__private::Instrumented::new(&__HEAPMETER_SITE, async move #future_body).await
            }
        }
        Shape::BoxedFuture(call) => {
            let call = instrument_boxed_future(call);
            quote_spanned! {span=>
                #(#inner)*
                #site
                #call
            }
        }
    };
    // An async body's braces resolve as generated code, because its tail is
    // the generated `.await`: with the user's span, `clippy::implicit_return`
    // would report that tail at the attribute. A sync body keeps the user's
    // braces and tail, and with them the lints on that tail.
    let braces = match shape {
        Shape::Sync => block.brace_token.span.join(),
        Shape::Async | Shape::BoxedFuture(_) => block.brace_token.span.join().resolved_at(span),
    };
    braced(braces, content)
}

/// Rewrites `Box::pin(async move { ... })` into
/// `Box::pin(Instrumented::new(&SITE, async move { ... }))`.
fn instrument_boxed_future(call: &ExprCall) -> ExprCall {
    let span = Span::mixed_site();
    let mut call = call.clone();
    if let Some(future) = call.args.first_mut() {
        let wrapped = quote_spanned!(span=> ::heapmeter::__private::Instrumented::new(&__HEAPMETER_SITE, #future));
        *future = Expr::Verbatim(wrapped);
    }
    call
}

/// Returns the `static __HEAPMETER_SITE` declaration of a function.
fn site_declaration(sig: &Signature, container: Option<&str>, name: Option<&syn::LitStr>) -> TokenStream {
    let span = Span::mixed_site();
    let (name, module_path) = match name {
        Some(name) => (name.value(), quote_spanned!(span=> "")),
        None => {
            let function = sig.ident.unraw().to_string();
            let name = match container {
                Some(container) => format!("{container}::{function}"),
                None => function,
            };
            (name, quote_spanned!(span=> ::core::module_path!()))
        }
    };
    let mut name = Literal::string(&name);
    name.set_span(span);

    // The line of the function's name, when the compiler reports it (Rust
    // 1.88 and later); else the line of the attribute.
    let line = match u32::try_from(sig.ident.span().start().line) {
        Ok(line) if line > 0 => {
            let mut line = Literal::u32_unsuffixed(line);
            line.set_span(span);
            line.into_token_stream()
        }
        _ => quote_spanned!(span=> ::core::line!()),
    };

    quote_spanned! {span=>
        static __HEAPMETER_SITE: ::heapmeter::__private::Site =
            ::heapmeter::__private::Site::new(#name, #module_path, ::core::file!(), #line);
    }
}

/// Returns the name under which methods of an `impl` block are reported:
/// `Cache` for `impl<K> Cache<K>` and for `impl Display for &Cache`.
fn type_name(ty: &Type) -> String {
    match ty {
        Type::Path(path) if path.qself.is_none() => {
            path.path.segments.last().map(|segment| segment.ident.unraw().to_string()).unwrap_or_default()
        }
        Type::Reference(reference) => type_name(&reference.elem),
        Type::Paren(paren) => type_name(&paren.elem),
        Type::Group(group) => type_name(&group.elem),
        other => other.to_token_stream().to_string().replace(' ', ""),
    }
}

fn returns_never(sig: &Signature) -> bool {
    matches!(&sig.output, ReturnType::Type(_, ty) if matches!(ty.as_ref(), Type::Never(_)))
}

fn outer_attributes(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|attr| matches!(attr.style, AttrStyle::Outer))
}

fn braced(span: Span, content: TokenStream) -> TokenStream {
    let mut group = Group::new(Delimiter::Brace, content);
    group.set_span(span);
    TokenTree::Group(group).into_token_stream()
}

/// Returns the error for an item that is not a function, `impl` block or
/// trait, spanned at its first token after its attributes.
fn unsupported_item(item: &TokenStream) -> syn::Error {
    let mut tokens = item.clone().into_iter().peekable();
    let mut span = Span::call_site();
    while let Some(token) = tokens.next() {
        let is_attribute = matches!(&token, TokenTree::Punct(punct) if punct.as_char() == '#')
            && matches!(tokens.peek(), Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Bracket);
        if is_attribute {
            tokens.next();
            continue;
        }
        span = token.span();
        break;
    }
    syn::Error::new(
        span,
        "`#[profile_memory]` applies to functions, `impl` blocks and traits; remove it from this item",
    )
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::type_name;

    #[test]
    fn type_name_of_generic_path() {
        assert_eq!(type_name(&parse_quote!(crate::cache::Cache<K, V>)), "Cache");
    }

    #[test]
    fn type_name_of_reference() {
        assert_eq!(type_name(&parse_quote!(&'a mut Cache)), "Cache");
    }

    #[test]
    fn type_name_of_slice() {
        assert_eq!(type_name(&parse_quote!([u8])), "[u8]");
    }
}
