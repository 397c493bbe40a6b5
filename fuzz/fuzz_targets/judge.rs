//! Raw answer bytes → envelope → schema → result checks → domain checks: nothing may panic.
//! The input layout is described in `src/fuzzing.rs`.
#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};

fuzz_target!(|data: &[u8]| {
    mallcheck::fuzzing::judge_bytes(data);
});

// Half of the mutations know JSON (a value of the answer replaced, a member renamed, an item
// repeated: the answer still parses, so the checks after the parser see it); the other half
// are libFuzzer's own byte mutations (which reach the parser, the header and the segments).
fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    if seed % 2 == 0
        && let Some(mutated) =
            mallcheck::fuzzing::mutate_json(&data[..size], u64::from(seed), max_size)
        && mutated.len() <= max_size
    {
        data[..mutated.len()].copy_from_slice(&mutated);
        return mutated.len();
    }
    libfuzzer_sys::fuzzer_mutate(data, size, max_size)
});
