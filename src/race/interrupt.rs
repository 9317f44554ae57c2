//! Ctrl-C (SIGINT), SIGTERM and SIGHUP on the launcher, or the console's Ctrl-C on Windows:
//! kill the buyers, so the launcher can reap them and print a partial report; a second request
//! stops it at once, and says so. The buyers share one group (a process group, a job object).
//! On Unix the handler kills them with one kill(2) and touches only atomics, as a signal
//! handler must; on Windows the console handler runs on a thread of its own, so it may list
//! the job's processes and terminate each.

use std::process::Child;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::lang::tr;
use crate::sys;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Said by a second signal, which does not wait for the report: worded in the chosen
/// language when the handler is installed, since a signal handler may not allocate.
static STOPPED_AT_ONCE: OnceLock<&'static [u8]> = OnceLock::new();

/// Installs the handler for every request to stop (a closed terminal is one too).
pub(crate) fn install() {
    STOPPED_AT_ONCE.get_or_init(|| {
        let line = format!("{}\n", tr!("stopped-at-once"));
        Box::leak(line.into_bytes().into_boxed_slice())
    });
    sys::on_stop_request(on_stop);
}

fn on_stop() {
    let again = INTERRUPTED.swap(true, Ordering::SeqCst);
    sys::kill_buyers();
    if again {
        sys::stop_at_once(
            STOPPED_AT_ONCE
                .get()
                .copied()
                .unwrap_or(b"grab-tickets: stopped\n"),
            i32::from(crate::exit::Exit::Interrupted.code()),
        );
    }
}

/// Whether a request to stop has arrived.
pub(crate) fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Puts a just-spawned buyer among those an interrupt kills (`first`: the first of the race).
/// An interrupt that came while the buyers were being started is honoured at once. The buyer
/// is in the group from its creation (`sys::join_buyers`, which fails before any buyer
/// starts if the group cannot be made), so nothing here can fail.
pub(crate) fn watch_buyer(child: Child, first: bool) -> Child {
    sys::enroll_buyer(&child, first);
    if interrupted() {
        sys::kill_buyers();
    }
    child
}

/// Forgets the buyers: called before reaping, after which their ids may belong to anyone.
pub(crate) fn forget_buyers() {
    sys::forget_buyers();
}
