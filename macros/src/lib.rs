//! The `#[profile_memory]` attribute of heapmeter. Use it through the
//! `heapmeter` crate, which re-exports it.
//!
//! The expansion runs in three phases, one module each: `args` parses the
//! attribute's arguments, `validate` checks the annotated function and
//! decides how to measure it, and `expand` generates the code. Errors are
//! `syn::Error`s spanned at the offending token, and `run` turns them into
//! `compile_error!` invocations.

mod args;
mod expand;
mod validate;

use proc_macro::TokenStream;

/// Records the heap allocations of each call of the annotated function.
///
/// Each call records the bytes allocated and freed, the number of
/// allocations and frees, and the peak of live bytes, with and without the
/// instrumented functions it calls. Read them with `heapmeter::snapshot()`.
/// The process must install `heapmeter::Allocator` as its global allocator.
///
/// ```
/// #[global_allocator]
/// static ALLOCATOR: heapmeter::Allocator = heapmeter::Allocator::system();
///
/// #[heapmeter::profile_memory]
/// fn parse(input: &str) -> Vec<u8> {
///     input.as_bytes().to_vec()
/// }
///
/// parse("hello");
/// let snapshot = heapmeter::snapshot();
/// let stats = snapshot.function("parse").expect("parse was called");
/// assert_eq!(stats.calls, 1);
/// assert_eq!(stats.inclusive.allocated, 5);
/// ```
///
/// # Where it applies
///
/// - Functions and methods, with any receiver, generics, lifetimes and
///   `impl Trait` arguments or return types, including `unsafe fn`,
///   `extern "C" fn` and functions returning `!`. A guard created at the top
///   of the body records the call on every exit: return, `?`, the end of the
///   body, or a panic that unwinds. Parameters drop after the guard, so what
///   their destructors free is charged to the caller, as for any value the
///   caller passed in.
/// - `async fn`, in traits too. The body runs inside a future that is
///   measured poll by poll, so work that other tasks do on the same thread
///   between polls is not counted. The call is recorded when the future
///   completes, or when it is dropped after its first poll.
/// - `impl` blocks, inherent or trait: every method with a body is
///   instrumented and reported as `Type::method`.
/// - Traits: every method with a default body is instrumented and reported
///   as `Trait::method`.
/// - Methods rewritten by `#[async_trait]`, whichever attribute comes first.
///   When `#[async_trait]` runs first, its `Box::pin(async move { ... })`
///   body is found and the async block inside is measured, not the creation
///   of the boxed future.
///
/// A non-async function that returns a future, such as `-> impl Future`,
/// is measured while it creates the future, not while the future runs. Make
/// it an `async fn`, or wrap the future in `heapmeter::instrument!`.
///
/// # Names
///
/// A function is reported under its module path and name, such as
/// `my_app::config::parse`. A method of an instrumented `impl` block is
/// reported as `my_app::cache::Cache::get`. A method annotated on its own is
/// reported without the type, as `my_app::cache::get`, because the attribute
/// receives only the method's tokens, not the `impl` around it.
///
/// # Options
///
/// - `name = "..."`: reports the function under exactly this name, without
///   the module path: `#[profile_memory(name = "config.parse")]`. On a method
///   of an instrumented `impl` block or trait, it overrides that method's name.
/// - `skip`: on a method of an instrumented `impl` block or trait, leaves
///   that method unmeasured: `#[profile_memory(skip)]`.
///
/// ```
/// struct Cache(Vec<u8>);
///
/// #[heapmeter::profile_memory]
/// impl Cache {
///     // Reported as `<module path>::Cache::fill`.
///     fn fill(&mut self) {
///         self.0.resize(64, 0);
///     }
///
///     // Reported as `cache.clear`.
///     #[profile_memory(name = "cache.clear")]
///     fn clear(&mut self) {
///         self.0.clear();
///     }
///
///     #[profile_memory(skip)]
///     fn len(&self) -> usize {
///         self.0.len()
///     }
/// }
/// ```
///
/// # Errors
///
/// These are compile errors, and the function concerned is still emitted as
/// written so that no other error follows from them:
///
/// - an unknown or repeated option, or `skip` outside an instrumented
///   `impl` block or trait;
/// - a `const fn`, whose body must stay const;
/// - a naked function, whose body must be a single `naked_asm!`;
/// - a function without a body, such as a required trait method;
/// - an item that is not a function, `impl` block or trait.
///
/// # Compiling it out
///
/// With the `off` feature of the `heapmeter` crate, the attribute emits every
/// item exactly as written and checks nothing, with one exception: on an
/// `impl` block or trait it removes the `#[profile_memory(...)]` attributes of
/// the methods inside, because a bare `#[profile_memory(skip)]` there does not
/// resolve on its own.
#[proc_macro_attribute]
pub fn profile_memory(args: TokenStream, item: TokenStream) -> TokenStream {
    run(args.into(), item.into(), !cfg!(feature = "off")).into()
}

/// Expands the attribute, or returns `item` as written when `enabled` is
/// false. Errors become `compile_error!` invocations after the item.
fn run(args: proc_macro2::TokenStream, item: proc_macro2::TokenStream, enabled: bool) -> proc_macro2::TokenStream {
    if !enabled {
        return expand::compiled_out(item);
    }
    let (mut output, errors) = expand::attribute(args, item);
    if let Some(error) = errors.into_error() {
        output.extend(error.into_compile_error());
    }
    output
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::run;

    fn expand(args: proc_macro2::TokenStream, item: &proc_macro2::TokenStream, enabled: bool) -> String {
        run(args, item.clone(), enabled).to_string()
    }

    #[test]
    fn off_emits_function_as_written() {
        let item = quote! {
            /// Parses.
            pub fn parse(s: &str) -> Vec<u8> { s.as_bytes().to_vec() }
        };
        assert_eq!(expand(quote!(), &item, false), item.to_string());
    }

    #[test]
    fn off_emits_impl_as_written() {
        let item = quote! {
            impl Cache {
                fn len(&self) -> usize { self.0.len() }
                async fn fill(&mut self) { self.0.push(1); }
            }
        };
        assert_eq!(expand(quote!(), &item, false), item.to_string());
    }

    #[test]
    fn off_removes_method_attributes() {
        let item = quote! {
            impl Cache {
                #[profile_memory(skip)]
                fn len(&self) -> usize { self.0.len() }
            }
        };
        let expected = quote! {
            impl Cache {
                fn len(&self) -> usize { self.0.len() }
            }
        };
        assert_eq!(expand(quote!(), &item, false), expected.to_string());
    }

    #[test]
    fn off_ignores_invalid_options() {
        let item = quote!(
            const fn seven() -> u8 {
                7
            }
        );
        assert_eq!(expand(quote!(unknown), &item, false), item.to_string());
    }

    #[test]
    fn on_differs_from_off() {
        let item = quote!(
            fn parse(s: &str) -> Vec<u8> {
                s.as_bytes().to_vec()
            }
        );
        let on = expand(quote!(), &item, true);
        let off = expand(quote!(), &item, false);
        assert_ne!(on, off);
        assert!(on.contains("Guard :: enter"));
        assert!(!off.contains("heapmeter"));
    }

    #[test]
    fn on_keeps_body_once() {
        let item = quote!(
            fn parse(s: &str) -> Vec<u8> {
                s.as_bytes().to_vec()
            }
        );
        let on = expand(quote!(), &item, true);
        assert_eq!(on.matches("as_bytes").count(), 1);
    }

    #[test]
    fn async_body_kept_once() {
        let item = quote!(
            async fn shout(mut s: String) -> String {
                s.push_str("!");
                s
            }
        );
        let on = expand(quote!(), &item, true);
        assert_eq!(on.matches("push_str").count(), 1);
        assert!(on.contains("Instrumented :: new"));
    }

    #[test]
    fn const_fn_kept_beside_error() {
        let item = quote!(
            const fn seven() -> u8 {
                7
            }
        );
        let on = expand(quote!(), &item, true);
        assert!(on.starts_with(&item.to_string()));
        assert!(on.contains("compile_error"));
    }
}
