//! Helpers for the code that `#[profile_memory]` generates.

use core::marker::PhantomData;

/// A zero-sized value whose type parameter stands for the return type of an
/// instrumented `async fn`.
///
/// The attribute moves an `async fn` body into an inner `async move` block.
/// Rustc infers the return type of an async block from the block alone, so a
/// tail such as `Ok(Box::new(|| ()))` would get a closure type where the
/// function declares `Box<dyn FnOnce()>`. The generated code avoids writing
/// the return type (it may contain `impl Trait`) by unifying `R` twice:
///
/// ```text
/// let marker = OutputOf::new();
/// if false { return marker.output(); }      // R = declared return type
/// Instrumented::new(&SITE, async move {
///     if false { return marker.output(); }  // block's return type = R
///     body
/// }).await
/// ```
///
/// The type checker visits these statements in order, so the block's return
/// type is known before it checks the body, exactly as for the function
/// without the attribute.
pub struct OutputOf<R>(PhantomData<fn() -> R>);

impl<R> OutputOf<R> {
    /// Creates the marker.
    #[must_use]
    pub const fn new() -> Self {
        OutputOf(PhantomData)
    }

    /// Never returns. The generated code calls it only in `if false` branches,
    /// where its return type is all that matters.
    pub fn output(self) -> R {
        loop {
            core::hint::spin_loop();
        }
    }
}

impl<R> Default for OutputOf<R> {
    fn default() -> Self {
        Self::new()
    }
}

// Manual impls: deriving would require `R: Copy`.
impl<R> Clone for OutputOf<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for OutputOf<R> {}
