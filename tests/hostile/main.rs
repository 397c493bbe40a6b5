//! A corpus of hostile suppliers, served byte by byte from a raw TCP socket (`raw`): wrong
//! status lines, bodies that never end, drips, resets, lies about lengths, echoed secrets,
//! answers too big, too many or too deep. Each test runs the harness against one of them and
//! asserts the finding (or a clear transport error), no panic and no internal error, every
//! scenario accounted for, a bounded peak of allocated memory, a bounded time and a small
//! `report.json` (`run::Run::assert_sound`).
//!
//! The tests run one at a time ([`serial`]): the allocator counts the whole process, and the
//! supplier lives in it too, so a test's peak must be its own. Run with `--nocapture` to see
//! each run's time and peak memory; `HOSTILE_DIGEST=1` prints what each run found and
//! `HOSTILE_KEEP=1` keeps each run's folder (config, state, out).

mod alloc;
mod corpus;
mod raw;
mod run;

use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Panics anywhere in the process (the harness's tasks included), counted by a panic hook.
pub static PANICS: AtomicUsize = AtomicUsize::new(0);

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Held for the whole of a test: one test at a time. Also installs the panic counter.
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    });
    SERIAL.lock().await
}
