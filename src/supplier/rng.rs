//! A tiny deterministic hash for the generated catalogue: every value is a pure function of
//! (seed, index, purpose), so a million SKUs cost no memory and the same seed gives the same data.

/// One step of splitmix64.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A well-mixed value for (seed, index, purpose).
pub fn mix(seed: u64, index: u64, purpose: u64) -> u64 {
    splitmix64(splitmix64(seed ^ splitmix64(index)) ^ purpose.wrapping_mul(0xA24B_AED4_963E_E407))
}

/// A value in `0..bound` (bound 0 gives 0).
pub fn below(seed: u64, index: u64, purpose: u64, bound: u64) -> u64 {
    if bound == 0 {
        0
    } else {
        mix(seed, index, purpose) % bound
    }
}

/// Picks one element of a non-empty slice.
pub fn pick<T: Copy>(items: &[T], seed: u64, index: u64, purpose: u64) -> T {
    items[below(seed, index, purpose, items.len() as u64) as usize]
}
