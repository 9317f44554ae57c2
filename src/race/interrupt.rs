//! Ctrl-C (SIGINT), SIGTERM and SIGHUP on the launcher: kill the buyers, so the launcher can
//! reap them and print a partial report; a second signal stops it at once, and says so. The buyers share one process group, so the handler needs one
//! number, not a table of pids; it only touches atomics and sends one signal, both safe
//! inside a signal handler.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use rustix::process::{Pid, Signal, kill_process_group};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// The buyers' process group, or 0 when there is none to kill.
static BUYERS: AtomicI32 = AtomicI32::new(0);

/// Said by a second signal, which does not wait for the report.
const STOPPED_AT_ONCE: &[u8] =
    b"grab-tickets: stopped at once by a second signal, without a report; \
the buyers were killed, and the next run settles the files\n";

/// Installs the handler for SIGINT, SIGTERM and SIGHUP (a closed terminal is a request to stop).
pub fn install() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: `on_signal` is async-signal-safe (atomics and kill only); the sigaction
        // struct is fully initialised before use.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as usize;
            // No SA_RESTART: a signal must cut a blocking wait (a lock, a pipe) short.
            action.sa_flags = 0;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

extern "C" fn on_signal(_signal: libc::c_int) {
    let again = INTERRUPTED.swap(true, Ordering::SeqCst);
    kill_buyers();
    if again {
        // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffer is a static.
        unsafe {
            libc::write(2, STOPPED_AT_ONCE.as_ptr().cast(), STOPPED_AT_ONCE.len());
            libc::_exit(i32::from(crate::exit::Exit::Interrupted.code()));
        }
    }
}

fn kill_buyers() {
    if let Some(group) = Pid::from_raw(BUYERS.load(Ordering::SeqCst)) {
        // The group's leader is an unreaped child of ours (see `forget_buyers`), so the group
        // id cannot belong to anyone else.
        let _ = kill_process_group(group, Signal::KILL);
    }
}

/// Whether SIGINT or SIGTERM has arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Records the buyers' process group (its id is the first buyer's pid) so an interrupt kills
/// them all. An interrupt that came while the group was being made is honoured at once.
pub fn watch_buyers(group: u32) {
    BUYERS.store(group as i32, Ordering::SeqCst);
    if interrupted() {
        kill_buyers();
    }
}

/// Forgets the buyers: called before reaping, after which the group id may belong to anyone.
pub fn forget_buyers() {
    BUYERS.store(0, Ordering::SeqCst);
}
