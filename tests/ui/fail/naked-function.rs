#[heapmeter::profile_memory]
#[unsafe(naked)]
extern "C" fn zero() -> u32 {
    core::arch::naked_asm!("xor eax, eax", "ret")
}

fn main() {
    let _ = zero();
}
