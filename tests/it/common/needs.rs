//! What some tests need beyond the binary: a PostgreSQL server, Chromium, root, mount(8). A test whose
//! need is missing says SKIPPED past the harness's output capture; `.ci/run` sets
//! `GRAB_TICKETS_REQUIRE_<NEED>=1` for each, so in CI a missing need fails instead.

use std::io::Write;

#[derive(Clone, Copy)]
pub(crate) enum Need {
    Postgres,
    Chromium,
    Root,
    /// mount(8) of a tmpfs or an overlay: root in a place that lets root mount.
    Mount,
}

impl Need {
    fn variable(self) -> &'static str {
        match self {
            Need::Postgres => "GRAB_TICKETS_REQUIRE_POSTGRES",
            Need::Chromium => "GRAB_TICKETS_REQUIRE_CHROMIUM",
            Need::Root => "GRAB_TICKETS_REQUIRE_ROOT",
            Need::Mount => "GRAB_TICKETS_REQUIRE_MOUNT",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Need::Postgres => {
                "PostgreSQL's initdb/pg_ctl were not found (install the postgresql package, \
                 or set GRAB_TICKETS_PG_BIN)"
            }
            Need::Chromium => "Chromium was not found (apt-get install chromium)",
            Need::Root => "it needs root (to act as another user)",
            Need::Mount => {
                "it needs to mount a filesystem (root with CAP_SYS_ADMIN; a container without it \
                 cannot)"
            }
        }
    }

    /// Whether `.ci/run` (or the person running the tests) made this need a requirement.
    pub(crate) fn required(self) -> bool {
        std::env::var(self.variable()).is_ok_and(|v| v == "1")
    }

    /// The test on this thread cannot run: a failure where the need is required, else a
    /// loud SKIPPED line (named by the harness's thread, which carries the test's name).
    pub(crate) fn missing(self, test: &str) {
        let current = std::thread::current();
        let test = current.name().filter(|n| *n != "main").unwrap_or(test);
        assert!(
            !self.required(),
            "{test}: {}, and {}=1 makes that a failure",
            self.what(),
            self.variable()
        );
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED {test}: {}. .ci/run sets {}=1, which makes this a failure. ***",
            self.what(),
            self.variable()
        );
    }
}

/// Whether this process runs as root; when not, the test on this thread is reported missing
/// its need (SKIPPED, or a failure where root is required).
#[cfg(unix)]
pub(crate) fn root(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        Need::Root.missing(test);
    }
    root
}
