//! The `mallcheck` binary: parse the command line and hand over to the library.

/// mimalloc instead of glibc's malloc: a sweep allocates a few hundred small blocks per SKU
/// (value trees, findings, lines) across the runtime's worker threads, and mimalloc's
/// per-thread free lists take a fraction of the instructions and none of glibc's arena locks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    mallcheck::cli::main()
}
