//! Ctrl-C (SIGINT), SIGTERM and SIGHUP on the launcher, or the console's Ctrl-C on Windows:
//! kill the buyers, so the launcher can reap them and print a partial report; a second request
//! stops it at once, and says so. The buyers share one group (a process group, a job object),
//! so the handler kills them with one call; it only touches atomics and makes that call, both
//! safe inside a signal handler.

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
/// An interrupt that came while the buyers were being started is honoured at once. A buyer
/// that cannot join the group would outlive the launcher: it is killed and reaped, and the
/// error says why.
pub(crate) fn watch_buyer(mut child: Child, first: bool) -> std::io::Result<Child> {
    if let Err(e) = sys::enroll_buyer(&child, first) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(std::io::Error::other(tr!(
            "error-buyer-group",
            error = e.to_string()
        )));
    }
    if interrupted() {
        sys::kill_buyers();
    }
    Ok(child)
}

/// Forgets the buyers: called before reaping, after which their ids may belong to anyone.
pub(crate) fn forget_buyers() {
    sys::forget_buyers();
}
