//! Parsing of the attribute's arguments: `#[profile_memory(name = "...")]`.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::{Attribute, Expr, ExprLit, Ident, Lit, LitStr, Meta, Token};

/// Options of one `#[profile_memory]` attribute. Each option keeps its tokens
/// so that later checks can point at them.
#[derive(Default)]
pub(crate) struct Options {
    /// `name = "..."`: the reported name, used as given.
    pub(crate) name: Option<LitStr>,
    /// `skip`: leaves a method of an instrumented `impl` block or trait
    /// unmeasured.
    pub(crate) skip: Option<Ident>,
}

/// Parses the arguments of the attribute on the annotated item.
pub(crate) fn parse(args: TokenStream) -> syn::Result<Options> {
    let mut options = Options::default();
    syn::meta::parser(|meta| parse_option(&mut options, &meta)).parse2(args)?;
    Ok(options)
}

/// Parses a `#[profile_memory]` attribute written on a method inside an
/// instrumented `impl` block or trait.
pub(crate) fn parse_nested(attr: &Attribute) -> syn::Result<Options> {
    let mut options = Options::default();
    match &attr.meta {
        Meta::Path(_) => {}
        Meta::List(_) => attr.parse_nested_meta(|meta| parse_option(&mut options, &meta))?,
        Meta::NameValue(name_value) => {
            return Err(syn::Error::new_spanned(
                &name_value.value,
                "`#[profile_memory = ...]` is not a valid form; write `#[profile_memory(name = \"...\")]`",
            ));
        }
    }
    Ok(options)
}

/// Returns true for an attribute that invokes this macro, under any path that
/// ends in `profile_memory` (`profile_memory`, `heapmeter::profile_memory`).
pub(crate) fn is_profile_memory(attr: &Attribute) -> bool {
    attr.path().segments.last().is_some_and(|segment| segment.ident == "profile_memory")
}

fn parse_option(options: &mut Options, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    let Some(key) = meta.path.get_ident() else {
        return Err(unknown_option(meta));
    };

    if key == "name" {
        if options.name.is_some() {
            return Err(meta.error("duplicate option `name` in `#[profile_memory]`; remove one of them"));
        }
        options.name = Some(parse_name(meta)?);
        Ok(())
    } else if key == "skip" {
        if options.skip.is_some() {
            return Err(meta.error("duplicate option `skip` in `#[profile_memory]`; remove one of them"));
        }
        if !meta.input.is_empty() && !meta.input.peek(Token![,]) {
            return Err(meta.error("`skip` takes no value; write `#[profile_memory(skip)]`"));
        }
        options.skip = Some(key.clone());
        Ok(())
    } else {
        Err(unknown_option(meta))
    }
}

fn parse_name(meta: &ParseNestedMeta<'_>) -> syn::Result<LitStr> {
    if !meta.input.peek(Token![=]) {
        return Err(meta.error("`name` needs a value; write `#[profile_memory(name = \"...\")]`"));
    }
    let value: Expr = meta.value()?.parse()?;
    let Expr::Lit(ExprLit { lit: Lit::Str(name), .. }) = value else {
        return Err(syn::Error::new_spanned(
            value,
            "`name` takes a string literal; write `#[profile_memory(name = \"...\")]`",
        ));
    };
    if name.value().is_empty() {
        return Err(syn::Error::new(
            name.span(),
            "`name` must not be empty; give the name to report, or remove the option to report the function's path",
        ));
    }
    Ok(name)
}

fn unknown_option(meta: &ParseNestedMeta<'_>) -> syn::Error {
    let key = meta.path.segments.iter().map(|segment| segment.ident.to_string()).collect::<Vec<_>>().join("::");
    meta.error(format!(
        "unknown option `{key}` in `#[profile_memory]`; the known options are `name = \"...\"` and `skip`"
    ))
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::parse;

    fn error_of(args: proc_macro2::TokenStream) -> String {
        match parse(args) {
            Ok(_) => String::from("no error"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn name_is_read() {
        let options = parse(quote!(name = "load")).map_err(|error| error.to_string());
        let name = options.ok().and_then(|options| options.name).map(|name| name.value());
        assert_eq!(name.as_deref(), Some("load"));
    }

    #[test]
    fn empty_arguments_are_default() {
        let options = parse(quote!()).map_err(|error| error.to_string());
        assert!(options.as_ref().is_ok_and(|options| options.name.is_none()));
        assert!(options.as_ref().is_ok_and(|options| options.skip.is_none()));
    }

    #[test]
    fn unknown_key_lists_known_ones() {
        assert_eq!(
            error_of(quote!(sample = 10)),
            "unknown option `sample` in `#[profile_memory]`; the known options are `name = \"...\"` and `skip`"
        );
    }

    #[test]
    fn duplicate_name_is_rejected() {
        assert_eq!(
            error_of(quote!(name = "a", name = "b")),
            "duplicate option `name` in `#[profile_memory]`; remove one of them"
        );
    }

    #[test]
    fn duplicate_skip_is_rejected() {
        assert_eq!(error_of(quote!(skip, skip)), "duplicate option `skip` in `#[profile_memory]`; remove one of them");
    }

    #[test]
    fn name_must_be_string() {
        assert_eq!(
            error_of(quote!(name = 3)),
            "`name` takes a string literal; write `#[profile_memory(name = \"...\")]`"
        );
    }
}
