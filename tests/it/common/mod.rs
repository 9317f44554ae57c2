//! What every test needs: a TestEnv (a temp directory with its own data.json; the shipped
//! data/data.json is never touched), a builder for one run of the real binary, and
//! assertions on the finished run that print its command, status, stdout and stderr when
//! they fail.

pub(crate) mod needs;
pub(crate) mod process;

use std::cell::OnceCell;
use std::ffi::OsStr;
use std::fmt::Display;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

use serde_json::Value;

use process::{Live, Screen};

const BIN: &str = env!("CARGO_BIN_EXE_grab-tickets");

/// How long a run or a wait may take before the test gives up: a backstop against a hang,
/// never a way to let time pass.
pub(crate) const BACKSTOP: Duration = Duration::from_secs(60);

/// The exit statuses docs/exit-codes.md documents. They are the command line's contract with
/// scripts, so the tests spell the numbers out instead of taking them from the crate.
pub(crate) mod exit {
    pub(crate) const OK: i32 = 0;
    pub(crate) const CHECK_FAILED: i32 = 1;
    pub(crate) const USAGE: i32 = 2;
    pub(crate) const BAD_DATA: i32 = 3;
    pub(crate) const ENVIRONMENT: i32 = 4;
    pub(crate) const INTERRUPTED: i32 = 130;
}

/// A temp directory holding the data file a test races on, and the files a run adds beside
/// it (the lock file, the order log, temp files, a trace).
pub(crate) struct TestEnv {
    pub dir: tempfile::TempDir,
    pub data: PathBuf,
}

impl TestEnv {
    /// A fresh directory whose data.json holds the lesson's file: {"ticket_num": 3}.
    pub(crate) fn new() -> TestEnv {
        TestEnv::with_data("{\"ticket_num\": 3}\n")
    }

    pub(crate) fn with_data(contents: &str) -> TestEnv {
        let dir = tempfile::tempdir().expect("create temp dir");
        let data = dir.path().join("data.json");
        fs::write(&data, contents).expect("write data file");
        TestEnv { dir, data }
    }

    /// A run of the binary against this environment's data file.
    pub(crate) fn race(&self) -> Race {
        grab_tickets().data(&self.data)
    }

    /// A quick locked run in which each of `buyers` buys one of the three tickets, so the
    /// data file and the order log have a history to recover from.
    pub(crate) fn sell_tickets(&self, buyers: u32) -> Run {
        self.race().buyers(buyers).delay("0..0").quiet().succeeds()
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn lock_file(&self) -> PathBuf {
        lock_file_of(&self.data)
    }

    pub(crate) fn order_log(&self) -> PathBuf {
        self.path("data.json.orders")
    }

    /// The data file as JSON; panics if it is not a complete document.
    pub(crate) fn data_json(&self) -> Value {
        let bytes = fs::read(&self.data).expect("read data file");
        serde_json::from_slice(&bytes).expect("the data file is complete JSON")
    }

    pub(crate) fn ticket_num(&self) -> u64 {
        ticket_num_in(&self.data).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Names of the temp files (`*.tmp`) left in the directory.
    pub(crate) fn temp_files(&self) -> Vec<String> {
        temp_files_in(self.dir.path())
    }
}

fn temp_files_in(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .expect("list the temp dir")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect()
}

fn lock_file_of(data: &Path) -> PathBuf {
    let mut name = data.as_os_str().to_owned();
    name.push(".lock");
    name.into()
}

/// The `ticket_num` of the data file at `path`, or why there is none.
fn ticket_num_in(path: &Path) -> Result<u64, String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let data: Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is not complete JSON: {e}", path.display()))?;
    data["ticket_num"]
        .as_u64()
        .ok_or_else(|| format!("{} has no whole ticket_num: {data}", path.display()))
}

/// Makes a named pipe (FIFO) at `path` with `mode` (libc's mkfifo: rustix's mkfifoat is
/// Linux's only).
#[cfg(unix)]
pub(crate) fn make_fifo(path: &Path, mode: u16) {
    use std::os::unix::ffi::OsStrExt as _;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("a path without NUL");
    // SAFETY: a NUL-terminated path and a mode; mkfifo returns 0 or -1.
    let made = unsafe { libc::mkfifo(name.as_ptr(), libc::mode_t::from(mode)) };
    assert_eq!(
        made,
        0,
        "mkfifo {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
}

/// The bare binary, with no `--data`.
pub(crate) fn grab_tickets() -> Race {
    let mut cmd = Command::new(BIN);
    cmd.env_remove("NO_COLOR");
    // The wording the tests check is English, whatever this machine's locale is; a test of
    // another language says so with `.lang()` or its own LANG.
    cmd.env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "en_US.UTF-8");
    Race { cmd, data: None }
}

/// One run of the binary, built flag by flag: `env.race().buyers(10).tickets(3).run()`.
pub(crate) struct Race {
    cmd: Command,
    data: Option<PathBuf>,
}

impl Race {
    pub(crate) fn data(mut self, path: &Path) -> Race {
        self.data = Some(path.to_path_buf());
        self.arg("--data").arg(path)
    }

    pub(crate) fn buyers(self, n: u32) -> Race {
        self.value("--buyers", n)
    }

    pub(crate) fn tickets(self, n: u64) -> Race {
        self.value("--tickets", n)
    }

    pub(crate) fn keep_stock(self) -> Race {
        self.arg("--keep-stock")
    }

    /// `--lang en|zh`.
    pub(crate) fn lang(self, lang: &str) -> Race {
        self.arg("--lang").arg(lang)
    }

    /// Sets a variable of the child's environment (LANG, LC_ALL, ...).
    pub(crate) fn env(mut self, name: &str, value: &str) -> Race {
        self.cmd.env(name, value);
        self
    }

    pub(crate) fn no_lock(self) -> Race {
        self.arg("--no-lock")
    }

    /// "whole", "write" or "none".
    pub(crate) fn lock_scope(self, scope: &str) -> Race {
        self.value("--lock-scope", scope)
    }

    /// `--delay-ms LO..HI`.
    pub(crate) fn delay(self, range: &str) -> Race {
        self.value("--delay-ms", range)
    }

    /// `--schedule`: the exact order of every buyer's moves ("1s 2s 1r 2r 1w 2w"), for
    /// assertions about one interleaving that must not depend on the machine's load.
    pub(crate) fn schedule(self, moves: &str) -> Race {
        self.value("--schedule", moves)
    }

    pub(crate) fn seed(self, seed: u64) -> Race {
        self.value("--seed", seed)
    }

    /// A number of tickets, or "all".
    pub(crate) fn per_buyer(self, k: impl Display) -> Race {
        self.value("--per-buyer", k)
    }

    pub(crate) fn no_fsync(self) -> Race {
        self.arg("--no-fsync")
    }

    pub(crate) fn lock_timeout(self, ms: u64) -> Race {
        self.value("--lock-timeout", ms)
    }

    pub(crate) fn check(self) -> Race {
        self.arg("--check")
    }

    pub(crate) fn json(self) -> Race {
        self.arg("--json")
    }

    pub(crate) fn quiet(self) -> Race {
        self.arg("--quiet")
    }

    pub(crate) fn verbose(self) -> Race {
        self.arg("--verbose")
    }

    pub(crate) fn chaos(self) -> Race {
        self.arg("--chaos")
    }

    /// `--kill-at BUYER:STEP[:ATTEMPT]`.
    pub(crate) fn kill_at(self, plan: &str) -> Race {
        self.value("--kill-at", plan)
    }

    pub(crate) fn trace(self, path: &Path) -> Race {
        self.arg("--trace").arg(path)
    }

    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Race {
        self.cmd.arg(arg);
        self
    }

    pub(crate) fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Race {
        self.cmd.args(args);
        self
    }

    /// Anything else about the process, e.g. its environment or the user it runs as.
    pub(crate) fn configure(mut self, change: impl FnOnce(&mut Command)) -> Race {
        change(&mut self.cmd);
        self
    }

    fn value(self, flag: &str, value: impl Display) -> Race {
        self.arg(flag).arg(value.to_string())
    }

    /// Runs to the end with stdout and stderr captured.
    pub(crate) fn run(self) -> Run {
        self.spawn().finish()
    }

    /// Runs to the end and asserts that it exited 0.
    pub(crate) fn succeeds(self) -> Run {
        let run = self.run();
        run.assert_success();
        run
    }

    /// Runs to the end with stdout and stderr each on a terminal of its own (a pty), as a
    /// person at a terminal would see them.
    #[cfg(unix)]
    pub(crate) fn run_on_terminal(self) -> Run {
        self.start(Screen::Terminal, Screen::Terminal).finish()
    }

    /// Runs to the end with stdout into a pipe and stderr on a terminal, as in
    /// `grab-tickets > report.txt` typed at a terminal.
    #[cfg(unix)]
    pub(crate) fn run_piped_with_stderr_on_terminal(self) -> Run {
        self.start(Screen::Pipe, Screen::Terminal).finish()
    }

    /// Starts the run and returns at once; its stdout can be read line by line as it comes.
    pub(crate) fn spawn(self) -> Live {
        self.start(Screen::Pipe, Screen::Pipe)
    }

    fn start(self, stdout: Screen, stderr: Screen) -> Live {
        let data = self.data.map(|path| DataFile {
            before: fs::read(&path).ok(),
            path,
        });
        Live::start(self.cmd, data, stdout, stderr)
    }
}

/// The data file a run raced on, and what it held just before the run.
struct DataFile {
    path: PathBuf,
    before: Option<Vec<u8>>,
}

/// Where every ticket of a `--json` run went, as its report's `tally` says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Stock at start.
    pub initial: u64,
    /// Sales the buyers were told succeeded.
    pub confirmed: u64,
    /// Read back from the data file after the race.
    pub remaining: u64,
    /// Orders in the log this run.
    pub logged: u64,
}

impl Tally {
    /// To be read as a sentence: `Tally::initial(3).confirmed(2).remaining(1).logged(2)`.
    pub(crate) fn initial(initial: u64) -> Tally {
        Tally {
            initial,
            ..Tally::default()
        }
    }

    pub(crate) fn confirmed(self, confirmed: u64) -> Tally {
        Tally { confirmed, ..self }
    }

    pub(crate) fn remaining(self, remaining: u64) -> Tally {
        Tally { remaining, ..self }
    }

    pub(crate) fn logged(self, logged: u64) -> Tally {
        Tally { logged, ..self }
    }
}

/// A finished run of the binary, with everything needed to explain a failed assertion.
pub(crate) struct Run {
    pub command: String,
    /// The launcher's pid.
    pub pid: u32,
    pub status: ExitStatus,
    stdout: String,
    stderr: String,
    data: Option<DataFile>,
    report: OnceCell<Value>,
}

impl Run {
    pub(crate) fn stdout(&self) -> &str {
        &self.stdout
    }

    pub(crate) fn stderr(&self) -> &str {
        &self.stderr
    }

    pub(crate) fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Everything about the run, for assertion messages.
    pub(crate) fn context(&self) -> String {
        format!(
            "\n--- command: {}\n--- status: {}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.command, self.status, self.stdout, self.stderr
        )
    }

    /// Asserts `holds`, printing `what` and the run's context if it does not.
    pub(crate) fn assert_that(&self, holds: bool, what: impl Display) -> &Run {
        assert!(holds, "{what}{}", self.context());
        self
    }

    pub(crate) fn assert_code(&self, expected: i32) -> &Run {
        self.assert_that(
            self.code() == Some(expected),
            format!("expected exit code {expected}"),
        )
    }

    pub(crate) fn assert_success(&self) -> &Run {
        self.assert_code(exit::OK)
    }

    pub(crate) fn assert_stdout_contains(&self, needle: &str) -> &Run {
        self.assert_stream("stdout", &self.stdout, needle, true)
    }

    pub(crate) fn assert_stdout_lacks(&self, needle: &str) -> &Run {
        self.assert_stream("stdout", &self.stdout, needle, false)
    }

    pub(crate) fn assert_stderr_contains(&self, needle: &str) -> &Run {
        self.assert_stream("stderr", &self.stderr, needle, true)
    }

    pub(crate) fn assert_stderr_lacks(&self, needle: &str) -> &Run {
        self.assert_stream("stderr", &self.stderr, needle, false)
    }

    fn assert_stream(&self, name: &str, text: &str, needle: &str, present: bool) -> &Run {
        let verb = if present { "lacks" } else { "has" };
        self.assert_that(
            text.contains(needle) == present,
            format!("{name} {verb} {needle:?}"),
        )
    }

    pub(crate) fn assert_stdout_empty(&self) -> &Run {
        self.assert_that(self.stdout.is_empty(), "stdout is not empty")
    }

    fn data_file(&self) -> &DataFile {
        self.data
            .as_ref()
            .unwrap_or_else(|| panic!("the run had no --data{}", self.context()))
    }

    /// Asserts that the data file holds exactly what it held before the run.
    pub(crate) fn assert_data_untouched(&self) -> &Run {
        let data = self.data_file();
        self.assert_that(
            fs::read(&data.path).ok() == data.before,
            "the data file changed",
        )
    }

    /// Asserts that the data file, read back now, is complete JSON saying `ticket_num = n`.
    pub(crate) fn assert_tickets_left(&self, n: u64) -> &Run {
        let left = ticket_num_in(&self.data_file().path);
        self.assert_that(
            left == Ok(n),
            format!("expected {n} tickets left in the data file, found {left:?}"),
        )
    }

    /// What a locked `--json` run guarantees whatever was killed in it: the data file is
    /// complete JSON and agrees with the report, nothing is oversold or lost, every ticket
    /// is in stock or in the order log, no temp file is left and the lock file stays.
    pub(crate) fn assert_every_ticket_is_accounted_for(&self) -> &Run {
        let tally = self.tally();
        let data = &self.data_file().path;
        let temps = temp_files_in(data.parent().expect("the data file is in a directory"));
        self.assert_tickets_left(tally.remaining)
            .assert_that(tally.confirmed <= tally.initial, "oversold")
            .assert_that(
                tally.remaining + tally.logged == tally.initial,
                "a ticket is unaccounted for",
            )
            .assert_report("/tally/lost_updates", 0)
            .assert_status("ok")
            .assert_that(temps.is_empty(), format!("left behind {temps:?}"))
            .assert_that(lock_file_of(data).exists(), "the lock file is gone")
    }

    /// The `--json` report; panics unless stdout is exactly one JSON document.
    pub(crate) fn report(&self) -> &Value {
        self.report.get_or_init(|| {
            serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
                panic!("stdout is not one JSON document: {e}{}", self.context())
            })
        })
    }

    /// Asserts the report's value at the JSON pointer `at` (e.g. "/tally/oversold").
    pub(crate) fn assert_report(&self, at: &str, expected: impl Into<Value>) -> &Run {
        let expected = expected.into();
        let actual = self.report().pointer(at).unwrap_or(&Value::Null);
        self.assert_that(
            *actual == expected,
            format!("report {at} is {actual}, expected {expected}"),
        )
    }

    /// Asserts the JSON verdict's status: "ok", "oversold", "lost_updates" or "mismatch".
    pub(crate) fn assert_status(&self, status: &str) -> &Run {
        self.assert_report("/verdict/status", status)
    }

    pub(crate) fn tally(&self) -> Tally {
        let count = |key: &str| {
            self.report()["tally"][key]
                .as_u64()
                .unwrap_or_else(|| panic!("tally.{key} is not a count{}", self.context()))
        };
        Tally {
            initial: count("initial"),
            confirmed: count("confirmed"),
            remaining: count("remaining"),
            logged: count("logged"),
        }
    }

    pub(crate) fn assert_tally(&self, expected: Tally) -> &Run {
        let actual = self.tally();
        self.assert_that(
            actual == expected,
            format!("tally is {actual:?}, expected {expected:?}"),
        )
    }

    /// The report's buyers, as it lists them.
    pub(crate) fn buyers(&self) -> &[Value] {
        self.report()["buyers"]
            .as_array()
            .unwrap_or_else(|| panic!("the report has no buyers array{}", self.context()))
    }

    /// How many of the report's buyers `matches` holds for.
    pub(crate) fn count_buyers(&self, matches: impl Fn(&Value) -> bool) -> usize {
        self.buyers().iter().filter(|b| matches(b)).count()
    }
}
