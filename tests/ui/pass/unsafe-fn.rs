#![deny(warnings)]

/// # Safety
///
/// `pointer` must be valid for reads.
#[heapmeter::profile_memory]
unsafe fn read_boxed(pointer: *const u32) -> Box<u32> {
    // SAFETY: the caller guarantees that `pointer` is valid for reads.
    Box::new(unsafe { *pointer })
}

#[heapmeter::profile_memory]
async unsafe fn read_later(pointer: *const u32) -> u32 {
    // SAFETY: the caller guarantees that `pointer` is valid for reads.
    unsafe { *pointer }
}

fn main() {
    let value = 5;
    // SAFETY: `value` lives for the whole call.
    assert_eq!(*unsafe { read_boxed(&value) }, 5);
    // SAFETY: the future is dropped without being polled.
    drop(unsafe { read_later(&value) });
}
