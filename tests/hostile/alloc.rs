//! Every allocation of this test binary counted: current and peak bytes (`peak_alloc` wraps
//! `std::alloc::System` with two atomics; this package forbids `unsafe_code`, tests included,
//! so the `GlobalAlloc` itself cannot live here).
//!
//! The tests of this binary run one at a time (see `main::serial`), so a test's peak is its
//! own: it resets the peak, notes the current bytes as its baseline, and reads the peak after.

use peak_alloc::PeakAlloc;

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

/// Bytes allocated now.
pub fn current() -> usize {
    ALLOC.current_usage()
}

/// The most bytes allocated at once since the last [`reset_peak`].
pub fn peak() -> usize {
    ALLOC.peak_usage()
}

/// Starts a new peak from what is allocated now.
pub fn reset_peak() {
    ALLOC.reset_peak_usage();
}

/// Bytes as MiB, for messages.
pub fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
