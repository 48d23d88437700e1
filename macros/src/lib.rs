//! The `#[profile_memory]` attribute of heapmeter. Use it through the
//! `heapmeter` crate, which re-exports it.

use proc_macro::TokenStream;

/// Records the heap allocations of each call of the annotated function.
#[proc_macro_attribute]
pub fn profile_memory(_args: TokenStream, item: TokenStream) -> TokenStream {
    // NOTE: placeholder until the expansion lands; emits the item unchanged.
    item
}
