//! heapmeter tells you which of your functions allocate how much heap memory,
//! in production, at a cost you do not notice.
//!
//! # Setup
//!
//! Install the tracking allocator, then annotate the functions to measure:
//!
//! ```
//! #[global_allocator]
//! static ALLOCATOR: heapmeter::Allocator = heapmeter::Allocator::system();
//!
//! #[heapmeter::profile_memory]
//! fn squares(n: u64) -> Vec<u64> {
//!     (0..n).map(|i| i * i).collect()
//! }
//!
//! squares(1000);
//! let snapshot = heapmeter::snapshot();
//! let stats = snapshot.function("squares").expect("squares was called");
//! assert_eq!(stats.calls, 1);
//! assert_eq!(stats.inclusive.allocated, 8000);
//! ```
//!
//! # What a call records
//!
//! For each call: bytes allocated, bytes freed, allocations and frees, net
//! retained bytes, and the peak of live bytes above the level at entry. Each
//! figure exists inclusive (callees counted) and self (the inclusive figures
//! of instrumented callees subtracted). Figures cover only the calling
//! thread, or for `async` code only the polls of the call's own future, so
//! work that other threads or tasks do meanwhile is never charged to it.
//!
//! # Cost
//!
//! The allocator adds a few thread-local loads and stores to each allocation
//! and free. An instrumented call reads the thread's counters twice and
//! queues one record on a per-thread ring; aggregation into histograms runs
//! on a background thread.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod aggregate;
mod alloc;
mod counters;
#[cfg(feature = "otlp")]
mod export;
mod future;
pub mod histogram;
pub mod metrics;
mod private;
mod record;
mod report;
mod ring;
mod scope;
mod site;
mod thread;

pub use aggregate::{FunctionStats, Snapshot, snapshot};
pub use alloc::Allocator;
pub use counters::{Totals, process_live_bytes, process_totals, runtime_totals};
#[cfg(feature = "otlp")]
pub use export::{Config, Handle, InitError, Protocol, SettingSource, ShutdownError, TemporalityPreference, init};
pub use future::Instrumented;
pub use heapmeter_macros::profile_memory;
pub use scope::{CallStats, Guard};
pub use site::Site;

/// Items used by the code that `#[profile_memory]` generates. Not a stable API.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "otlp")]
    pub use crate::export::RequestEncoder;
    pub use crate::future::Instrumented;
    pub use crate::private::OutputOf;
    pub use crate::scope::Guard;
    pub use crate::site::Site;
}

/// Measures the rest of the enclosing block as one call named `$name`.
///
/// ```
/// # fn load() -> Vec<u8> { vec![0; 16] }
/// fn handle() {
///     let _region = heapmeter::scope!("handle.load");
///     let data = load();
///     drop(data);
/// }
/// ```
///
/// The name is reported as given. The region ends when the returned guard
/// drops, so bind it to a named variable (`_region`, not `_`). Do not hold
/// the guard across an `.await`; use [`instrument!`] for `async` code. With the `off`
/// feature the macro returns [`Disabled`] and measures nothing.
#[cfg(not(feature = "off"))]
#[macro_export]
macro_rules! scope {
    ($name:literal) => {{
        static __HEAPMETER_SITE: $crate::Site = $crate::Site::new($name, "", ::core::file!(), ::core::line!());
        $crate::Guard::enter(&__HEAPMETER_SITE)
    }};
}

/// Measures nothing: the `off` feature is on.
#[cfg(feature = "off")]
#[macro_export]
macro_rules! scope {
    ($name:literal) => {
        $crate::Disabled
    };
}

/// The value [`scope!`] returns when the `off` feature is on. It has no
/// destructor and measures nothing.
#[derive(Clone, Copy, Debug)]
pub struct Disabled;

/// Wraps a future so that its execution is measured poll by poll as one call
/// named `$name`.
///
/// ```
/// # async fn fetch() -> Vec<u8> { vec![0; 16] }
/// # async fn run() {
/// let body = heapmeter::instrument!("fetch", fetch()).await;
/// # drop(body);
/// # }
/// ```
///
/// With the `off` feature the macro returns the future unchanged.
#[cfg(not(feature = "off"))]
#[macro_export]
macro_rules! instrument {
    ($name:literal, $future:expr) => {{
        static __HEAPMETER_SITE: $crate::Site = $crate::Site::new($name, "", ::core::file!(), ::core::line!());
        $crate::Instrumented::new(&__HEAPMETER_SITE, $future)
    }};
}

/// Returns the future unchanged: the `off` feature is on.
#[cfg(feature = "off")]
#[macro_export]
macro_rules! instrument {
    ($name:literal, $future:expr) => {
        $future
    };
}
