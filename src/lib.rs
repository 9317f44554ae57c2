//! grab-tickets: real OS processes race to buy tickets from one shared JSON file. Without a
//! lock they oversell; with an exclusive file lock around the whole read-check-write every
//! ticket is sold exactly once.
//!
//! # Layout
//! Data flows one way: cli → settings → (explore →) app → race (buyers → shop) → report → show.
//! - `main.rs`      the switchboard: the buyer fast path, else [`run`] → [`Exit`]; on Unix a C
//!   `main` that skips std's start-up ([`start`] does what the program needs of it)
//! - `cli/`         the command line, its completions and man page; resolved into `Settings` before anything runs
//!   - `args`       the clap types: every flag with its help
//!   - `bounds`     every whole-number flag's range, stated and checked once
//!   - `resolve`    defaults filled in, flags checked together → `Settings` / `Exploration`
//!   - `refusal`    clap's usage errors rebuilt in the chosen language from their kind
//!   - `man`        the manual pages (`grab-tickets man`), rendered from the same clap types
//! - `settings/`    the resolved settings; imports nothing from the rest of the crate but `lang`
//!   (and `sys` for a path's bytes in a buyer's plan)
//!   - `parts`      what `Settings` hands out: the purchase's rules, a buyer's settings
//!   - `exploration` the settings of `explore`; `checkup` those of `doctor`
//!   - `values`     the value types (lock scope, delay, stock, steps) and their parsers
//!   - `moves`      the move grammar of a stepped race (moves, turns, schedules); imports nothing
//!   - `store_choice` where the stock lives (file or database URL), the database's lock and method
//! - `lang`         every sentence's catalog (`locales/en.ftl`, `zh.ftl`, Project Fluent), the
//!   language choice and `tr!`; imports nothing from the crate but the leaf `safe_text` (a path
//!   or `Outside` text becomes a variable escaped), so errors speak it too
//!   - `arg`        a message's variables: counts (exact digits beyond 2^53) and words
//! - `safe_text`    text from users and other programs (paths, run names) with its control
//!   characters escaped, so it can never redraw or forge a line; a leaf
//! - `shell_word`   a name quoted as one word of the shell it is pasted into (the replay
//!   command, a "create it with:" fix); a leaf
//! - `events`       the vocabulary of a run: what a buyer did, stamped with who and when
//! - `exit`         the one `Exit` enum that owns every exit status, and the error type
//! - `app`          one run: check and set the stock → launch → settle → reconcile → show
//! - `explore/`     `grab-tickets explore`: many stepped races, each a real run through `app`
//!   - `every`      every distinct schedule once: depth-first over the moves, one race per path
//!   - `por`        partial-order reduction: which moves commute; counting the orders skipped
//!   - `sample`     `--random`: uniform (or PCT) schedules drawn from a seed
//!   - `interactive` `--interactive`: the person at the keyboard picks every move
//! - `doctor/`      `grab-tickets doctor`: is it safe to race in the data file's directory?
//!   - `filesystem` the filesystem's family from its name, and what each family cannot promise
//!   - `locks`      the race's lock across two processes; flock against fcntl locks (Unix)
//!   - `replace`    thousands of replaces under a reader that must never see a torn file
//!   - `sync`       fsync of a file and of the directory
//!   - `helper`     the second process: this binary in a hidden mode, one line at a time
//!   - `scratch`    the checkup's own files, every one removed after
//!   - `findings`   what came of each probe, and the verdicts; `answer` its words and JSON
//! - `powercut/`    `explore --power-cut`: races' file operations recorded (`sys::record`),
//!   every crash state built and recovered by the real program (docs/power-cuts.md)
//!   - `race`       the shops a race starts from (empty, hand-written, used) and its recording
//!   - `trace`      the record read back, names resolved to files
//!   - `disk`       a disk image after a cut, and what may become of an unsynced write
//!   - `states`     the weak model and what both share: every crash state at every cut
//!   - `ordered`    the ext4-ordered model (data=ordered, auto_da_alloc)
//!   - `recover`    each state copied, recovered by the next run (two at once), its ledger checked
//! - `race/`        the processes
//!   - `launcher`   spawn the buyers, fire the starting gun, hear them, reap them
//!   - `buyer`      one buyer process: search, then buy until done
//!   - `pipe`       both ends of the event pipe, and the quiet moments between events
//!   - `relay`      the buyers' stderr, passed on to the launcher's with control characters escaped
//!   - `secret`     the database password's way to a buyer: one line on its own stdin
//!   - `stepper`    the launcher as scheduler: where each paused buyer is, who holds the lock,
//!     who moves next (`explore`, `--schedule`)
//!   - `chaos`      fault injection: who is SIGKILLed at which step (drawn from the seed), and
//!     what came of it
//!   - `interrupt`  Ctrl-C / SIGTERM: kill the buyers' process group, report what happened
//!   - `clock`      one monotonic clock shared by all processes
//! - `shop/`        the shared state and how it changes
//!   - `purchase`   the race itself: read, delay, check, commit, under a chosen lock scope
//!   - `lock`       the one lock guard and waiting policy (re-locks a deleted lock file); the lock calls are sys's
//!   - `data_file`  reads and atomically replaces data.json (temp file, swap); knows no locking
//!   - `document`   the data file's JSON: its two numbers found and rewritten, every other byte kept
//!   - `directory`  resolves the data path once; opens sidecars and temp files, following no link
//!   - `orders`     the order log's format, the commit point of every sale
//!   - `own_files`  which of the shop's files (data, lock, log) a path names, by any link
//!   - `recovery`   every lock holder's settling: data.json brought into agreement with the log
//!   - `books`      the launcher's books on the file store: checks, restock, the run's window
//!   - `file_store` the embedded store (data.json + lock + log) behind the `Store` trait
//!   - `pg/`        the PostgreSQL store: connection and SQL; `store` a buyer's side (the same
//!     trait), `lock` its row or advisory lock, `books` the launcher's side, `gate` the running
//!     races' modes (`grab_tickets.races`), `foreign` the row checked against its ledger (a
//!     hand edit, orders whose seq jumps), `room` the server's free connections, checked
//!     before anything changes, `passfile` libpq's password file
//!   - `keeper`     the launcher's side of either store: open, set the stock, close the window
//!   - `planted`    bugs planted on purpose (a sync left out) for the power-cut tests
//! - `report/`      outcomes → reconciliation (oversold, lost updates) → status; no wording
//!   - `tally`      the arithmetic: confirmed, remaining, logged → oversold, lost updates, status
//!   - `buyers`     each buyer's events, exit status and orders → one summary and result
//! - `show/`        what people and scripts see
//!   - `words`      the words every view shares: names, lists, times, lock and store phrases,
//!     display-width layout
//!   - `spans`      events → per-buyer spans, shared by the timeline and the trace
//!   - `narrate/`   live narration: phrases per moment (`merge`), or every step (`steps`);
//!     `clause` one step's phrase
//!   - `story`      the facts of a finished run, worked out once for every view
//!   - `problems`   the report's "!" lines: abnormal ends, others' orders, unreadable lines
//!   - `html`       the classroom page (`--html`): `page.html`, with `page.css`, `page_guard.js`
//!     and `page.js` inlined
//!   - `out_file`   an output staged as a temp file and renamed over its destination
//!   - `headline`, `text` (the report), `cause` ("Why:"), `json`, `timeline/`, `trace`,
//!     `progress`, `out` (the one door to stdout, escaping through `safe_text`)
//!   - `schedule`   a stepped run's words: the schedule taken, who got which ticket, replaying
//!   - `explore/`   the explorer's summary (`summary`, and JSON) and the interactive `board`
//!   - `power_cut`  `explore --power-cut`'s counts and the timeline of each vulnerable state
//!   - `power_story` the short story of a vulnerable state: why each confirmed sale was lost
//! - `sys/`         the platform seam: every OS call, one file per family (`linux`, `unix` for
//!   every Unix and the fallbacks macOS gets, `windows`; `*_process`: clock, event pipe,
//!   process group or job object, signals; `windows_lock`: Win32's lock ranges; `*_volume`:
//!   which filesystem a directory is on); nothing else names an OS; `record`
//!   the power-cut recorder the calls report to when `GRAB_TICKETS_RECORD` is set

mod app;
mod cli;
mod doctor;
mod events;
mod exit;
mod explore;
mod lang;
mod powercut;
mod race;
mod report;
mod safe_text;
mod settings;
mod shell_word;
mod shop;
mod show;
mod sys;

pub use exit::{Error, Exit};
/// Bytes per order-log entry, newline included (docs/protocol.md states it too).
pub use shop::orders::ENTRY_LEN as ORDER_ENTRY_LEN;

/// What this process is, for the little start-up it needs (`sys::start`).
pub use sys::Role;

/// The start-up std's own `main` would do, as much of it as this process needs: on Unix,
/// SIGPIPE ignored (a closed pipe is an error to handle, not a death) and, for the launcher,
/// fds 0-2 opened on /dev/null where closed. Nothing on Windows.
pub fn start(role: Role) {
    sys::start(role);
}

/// Flushes stdout before the process ends (std's `main` would; a C `main` does not).
pub fn finish() {
    let _ = std::io::Write::flush(&mut std::io::stdout());
}

/// If this process is a buyer the launcher started, its plan (the fast path that skips clap).
pub fn buyer_plan() -> Option<String> {
    race::buyer::plan_argument()
}

/// The line `main` prints for an error that ended the run.
pub fn error_line(err: &Error) -> String {
    let line = lang::tr!("error-line", error = err.to_string());
    show::out::escaped(&line).into_owned()
}

/// Runs one buyer process to its end.
pub fn run_buyer(plan: &str) -> Exit {
    race::buyer::run(plan)
}

/// Parses the command line and runs it; `main` only prints the error.
pub fn run() -> Result<Exit, Error> {
    // A doctor's helper process (its hidden mode, like a buyer's, skips clap).
    if let Some(assignment) = doctor::assignment() {
        return Ok(doctor::run_helper(assignment));
    }
    // Before clap, so even a usage error speaks the language asked for.
    // args_os: a data path need not be UTF-8, and only "--lang" and its value matter here.
    let args = std::env::args_os().map(|a| a.to_string_lossy().into_owned());
    lang::choose(lang::Lang::from_command_line(args));
    let Some(cli) = cli::parse()? else {
        return Ok(Exit::Success); // --help or --version, printed
    };
    match cli.command {
        Some(cli::Command::Completions { shell }) => {
            show::out::print(&String::from_utf8_lossy(&cli::completion_script(shell)));
            Ok(Exit::Success)
        }
        Some(cli::Command::Man { page }) => {
            show::out::print(&String::from_utf8_lossy(&cli::man_page(page)));
            Ok(Exit::Success)
        }
        Some(cli::Command::Explore(args)) => explore::run(args.into_exploration()?),
        Some(cli::Command::Doctor(args)) => doctor::run(args.into_checkup()),
        None => app::run(cli.race.into_settings()?),
    }
}
