//! `#[profile_memory]` adds no warning under strict lints. `cargo clippy
//! --all-targets -- -D warnings` checks this file; its tests check that the
//! instrumented functions still record exact figures.
//!
//! The tracking allocator is process-wide, so these tests have their own test
//! binary, and each test calls its own functions.
#![deny(clippy::suspicious_else_formatting)]

#[global_allocator]
static ALLOCATOR: heapmeter::Allocator = heapmeter::Allocator::system();

/// Labels a flag. The `else` inside `format!` must not look misformatted
/// to clippy once the body moves into the generated async block.
#[heapmeter::profile_memory]
pub async fn label(flag: bool) -> String {
    format!("{}", if flag { "yes" } else { "no" })
}

/// Functions under lints that generated code could trip: restriction lints
/// that ask for explicit `return`, documented items and imported paths.
pub mod strict {
    #![deny(warnings, missing_docs, unreachable_code, unused)]
    #![deny(clippy::all, clippy::pedantic)]
    #![deny(
        clippy::implicit_return,
        clippy::missing_docs_in_private_items,
        clippy::absolute_paths,
        clippy::std_instead_of_core,
        clippy::let_underscore_untyped,
        clippy::shadow_unrelated,
        clippy::diverging_sub_expression,
        clippy::unreachable,
        clippy::empty_loop,
        clippy::question_mark_used,
        clippy::pattern_type_mismatch
    )]
    // `implicit_return` requires `return`, which this style lint rejects.
    #![allow(clippy::needless_return)]

    /// Returns the bytes of `text`.
    #[heapmeter::profile_memory]
    #[must_use]
    pub fn strict_bytes(text: &str) -> Vec<u8> {
        return text.as_bytes().to_vec();
    }

    /// Returns `text` followed by `!`.
    #[heapmeter::profile_memory]
    pub async fn strict_shout(mut text: String) -> String {
        text.push('!');
        return text;
    }

    /// Never returns.
    ///
    /// # Panics
    ///
    /// Always, with `message`.
    #[heapmeter::profile_memory]
    #[expect(clippy::panic, reason = "the function exists to panic")]
    pub fn strict_fail(message: &str) -> ! {
        panic!("{message}");
    }

    /// A byte buffer.
    pub struct StrictBuffer {
        /// The bytes.
        bytes: Vec<u8>,
    }

    #[heapmeter::profile_memory]
    impl StrictBuffer {
        /// Creates a buffer of `size` zeros.
        #[must_use]
        pub fn zeros(size: usize) -> Self {
            return StrictBuffer { bytes: vec![0; size] };
        }

        /// Returns the length.
        #[must_use]
        pub fn len(&self) -> usize {
            return self.bytes.len();
        }

        /// Returns whether the buffer is empty.
        #[must_use]
        pub fn is_empty(&self) -> bool {
            return self.bytes.is_empty();
        }

        /// Copies the bytes, later.
        pub async fn copy(&self) -> Vec<u8> {
            return self.bytes.clone();
        }
    }
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().build().expect("a runtime").block_on(future)
}

#[test]
fn label_allocates_eight_bytes() {
    assert_eq!(block_on(label(false)), "no");

    let snapshot = heapmeter::snapshot();
    let stats = snapshot.function("label").expect("label recorded");
    assert_eq!(stats.calls, 1);
    // `format!` starts empty and grows to the minimum capacity of 8 bytes.
    assert_eq!(stats.inclusive.allocated, 8);
}

#[test]
fn strict_functions_record() {
    assert_eq!(strict::strict_bytes("abc"), b"abc");
    assert_eq!(block_on(strict::strict_shout(String::from("hey"))), "hey!");
    let buffer = strict::StrictBuffer::zeros(32);
    assert_eq!(buffer.len(), 32);
    assert_eq!(block_on(buffer.copy()).len(), 32);

    let snapshot = heapmeter::snapshot();
    let bytes = snapshot.function("strict_bytes").expect("strict_bytes recorded");
    assert_eq!(bytes.inclusive.allocated, 3);
    let shout = snapshot.function("strict_shout").expect("strict_shout recorded");
    assert_eq!(shout.inclusive.allocated, 8);
    let zeros = snapshot.function("StrictBuffer::zeros").expect("zeros recorded");
    assert_eq!(zeros.inclusive.allocated, 32);
    let copy = snapshot.function("StrictBuffer::copy").expect("copy recorded");
    assert_eq!(copy.inclusive.allocated, 32);
}

#[test]
fn strict_fail_records_once() {
    let result = std::panic::catch_unwind(|| strict::strict_fail("expected in this test"));
    assert!(result.is_err());

    let snapshot = heapmeter::snapshot();
    let fail = snapshot.function("strict_fail").expect("strict_fail recorded");
    assert_eq!(fail.calls, 1);
}
