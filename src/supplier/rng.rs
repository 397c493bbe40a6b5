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

/// A fast hasher for the supplier's internal maps (stock per SKU and area, tokens): the default
/// SipHash showed in profiles of the stocks interface. Keys are catalogue indices and tokens the
/// supplier issued itself, so flooding resistance is not needed.
#[derive(Debug, Default, Clone, Copy)]
pub struct MixHasher(u64);

impl std::hash::Hasher for MixHasher {
    fn finish(&self) -> u64 {
        splitmix64(self.0)
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x51_7C_C1_B7_27_22_0A_95);
    }

    fn write_u32(&mut self, value: u32) {
        self.write_u64(u64::from(value));
    }

    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }
}

pub type MixState = std::hash::BuildHasherDefault<MixHasher>;
