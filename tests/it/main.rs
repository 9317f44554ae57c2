//! grab-tickets' integration tests: one crate, so one build and one binary, and the shared
//! helpers compiled once. Every test runs the real binary on a temp directory (and the real
//! PostgreSQL or Chromium it needs). Add a test to the module it belongs to; add a module only
//! for a behaviour none of these covers, and give it a line here.
//!
//! The crate also builds for Windows and runs under Wine (`.ci/windows`): what is Unix's by
//! nature (flock(1), prlimit, permission bits, /proc, signals, a pty, the PostgreSQL cluster
//! run as user postgres, Chromium, Python's fcntl) is behind `#[cfg(unix)]`, each with a line
//! saying why; a whole module so when every test in it is.

// The helpers the Unix-only tests alone use are not dead code where they run.
#![cfg_attr(windows, allow(dead_code))]

// The helpers every module shares.
// TestEnv, the `Race` builder for one run and the assertions that print the run's context.
mod common;
// A throwaway PostgreSQL cluster and the `Race` builder aimed at one of its databases.
#[cfg(unix)] // the server runs as user postgres (runuser(1)) on a Unix socket
mod pg_cluster;

// The lesson: the race and its fix.
// Without the lock (or with it around the write only) the race oversells, every time.
mod no_lock;
// With the lock around the whole purchase, every ticket is sold exactly once.
mod locked;
// Waiting for the lock: said once, for whom; `--lock-timeout` gives up.
mod lock_wait;
// The lock survives its file being deleted or replaced; outside flock(1) holders are honoured.
mod lock_file;
// The same race and fixes on a PostgreSQL server: row lock, advisory lock, serializable.
#[cfg(unix)] // the PostgreSQL cluster (pg_cluster)
mod pg_modes;
// lesson/grab_tickets.py, the course's Python program: it oversells without its lock, never with it.
#[cfg(unix)] // python3 on PATH: the Wine root has no Windows Python (the lesson runs on Windows)
mod lesson_program;

// What people and scripts see.
// A default run fits one screen; `--verbose` keeps the step-by-step account.
mod one_screen;
// The timeline, the report and the JSON tell one story of each buyer.
mod one_story;
// The timeline's lanes on a common time axis.
mod timeline;
// `--trace FILE`: a Chrome trace whose spans show the lock.
mod trace;
// `--html FILE`: the classroom page, checked in headless Chromium.
mod page;
// Text in the data path or another program's ledger entry never changes the page's structure.
#[cfg(unix)] // Chromium, and an outsider in Python locking with fcntl.flock
mod page_text;
// The outsider follows the protocol's text on links, sidecars and limits.
#[cfg(unix)] // an outsider in Python locking with fcntl.flock, symlinks
mod outsider_text;
// `--trace` and `--html` never overwrite the shop's files; a failed run keeps the old ones.
mod outputs;
// Every narration line is true of the run's events, in both languages.
mod narration_truth;
// `--lang` and the locale: everything a person reads in English or Chinese.
mod in_chinese;
// `--json`: every key docs/json.md documents.
mod json_shape;
// The live progress line appears only for a person at a terminal.
#[cfg(unix)] // every test runs on a pty
mod progress;
// A closed or full stdout ends the output, never the run.
mod stdout;
// A buyer that prints nothing never parses the Fluent catalog (issue 22).
mod silent_buyer;
// `--check` turns the verdict into the exit status.
mod check;
// Version, completions, --verbose, --quiet and --help.
mod cli;

// Replaying and exploring schedules.
// `--seed` replays the delays; a run without one prints the seed it drew.
mod seed;
// `explore` and `--schedule`, checked against a pure model of the same moves.
mod explore;

// Nothing is lost: kills, interrupts, faults.
// A buyer SIGKILLed at each step of a locked purchase.
mod kill_points;
// A stock that cannot be read back after the race (data file deleted, server stopped, stock
// row deleted) is reported as unknown, never as a number.
mod unread_stock;
// Hundreds of seeded `--chaos` runs, on the file and on the database.
mod chaos;
// `explore --power-cut`: every crash state of a recorded race recovers; --no-fsync does not.
mod power_cut;
// Ctrl-C and SIGKILL on the launcher.
mod interrupt;
// Database faults: killed in a transaction, server restarted, every way of not getting in.
#[cfg(unix)] // the PostgreSQL cluster (pg_cluster)
mod pg_faults;
// A database password is never printed and never on a buyer's command line.
#[cfg(unix)] // the PostgreSQL cluster, and the buyers' command lines read from /proc
mod pg_secrets;
// libpq's password file: missing or shared is passed over, and said when it matters.
#[cfg(unix)] // the PostgreSQL cluster (pg_cluster)
mod pg_passfile;
// The database's race gate: a safe race refuses an unlocked one, an unlocked one is told.
#[cfg(unix)] // the PostgreSQL cluster (pg_cluster)
mod pg_gate;
// The database's ledger held to the file's rules: seq room, changed columns, forged orders.
#[cfg(unix)] // the PostgreSQL cluster (pg_cluster)
mod pg_ledger;
// The database checked like the file: a stock changed by hand, too few connections.
#[cfg(unix)] // the PostgreSQL cluster (pg_cluster)
mod pg_limits;

// The data file and the files beside it.
// A write changes `ticket_num` and `seq` and not one other byte.
mod data_file;
// The order log is a ledger shared with other runs and other programs.
mod shared_ledger;
// History another program forged (or a stock changed by hand) is named, never believed.
#[cfg(unix)] // the forger is Python writing under the buyers' flock (the test holds it)
mod forged_history;
// Links planted in a shared directory are never written through.
#[cfg(unix)] // another user, owners, umask, sticky dirs, FIFOs, /proc/sys: Unix permissions
mod shared_dir;
// Bad input: one clear error, a documented exit code, nothing changed.
mod bad_input;
// `doctor`: the directory's filesystem named and tested (ext4, tmpfs, overlay, read-only).
#[cfg(unix)] // mounts, findmnt(8), modes, SIGINT; .ci/windows runs doctor under Wine
mod doctor;
// The docs cannot drift: every console sample in README and docs/ runs (the database ones on
// the test cluster, the page's in Chromium) and prints what it shows; relative links resolve.
mod doc_samples;
