//! Ctrl-C (SIGINT) and SIGTERM on the launcher: kill the buyers, so the launcher can reap them
//! and print a partial report. The handler only touches atomics and calls kill(2), both safe
//! inside a signal handler.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use crate::settings::MAX_BUYERS;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static BUYER_PIDS: [AtomicI32; MAX_BUYERS as usize] =
    [const { AtomicI32::new(0) }; MAX_BUYERS as usize];

/// Installs the handler for SIGINT and SIGTERM.
pub fn install() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `on_signal` is async-signal-safe (atomics and kill only); the sigaction
        // struct is fully initialised before use.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as usize;
            // SA_RESETHAND: a second Ctrl-C kills the launcher at once (buyers follow it via
            // their parent-death signal).
            action.sa_flags = libc::SA_RESETHAND;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

extern "C" fn on_signal(_signal: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
    for slot in &BUYER_PIDS {
        let pid = slot.load(Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: kill(2) is async-signal-safe; the pid is an unreaped child of ours.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// Whether SIGINT or SIGTERM has arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Records buyer `index` (1-based) so an interrupt kills it.
pub fn watch(index: u32, pid: u32) {
    if let Some(slot) = BUYER_PIDS.get(index as usize - 1) {
        slot.store(pid as i32, Ordering::SeqCst);
    }
}

/// Forgets every buyer: called before reaping, after which a pid may belong to anyone.
pub fn forget_all() {
    for slot in &BUYER_PIDS {
        slot.store(0, Ordering::SeqCst);
    }
}
