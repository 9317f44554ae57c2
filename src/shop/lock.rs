//! The one door to the lock: an exclusive lock on the sidecar file `<data>.lock` (flock on
//! Unix, advisory; LockFileEx past the pid slot on Windows, mandatory; `sys::lock_sidecar`),
//! with the holder's pid written inside. The lock is only as good as the file:
//! after each lock is granted the path is checked to still name the locked file, and if the
//! file was deleted or replaced the new one is locked instead.

use crate::safe_text::OneLine;
use std::cell::{Cell, RefCell};
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::Acquired;
use super::directory::{DataDir, FileId};
use super::orders::OrderLog;
use crate::events::LockFileChange;
use crate::exit::{Error, Failure, Result};
use crate::lang::tr;
use crate::sys::record::{self, Op};
use crate::sys::{self, Blocking, Share, Writes};

/// Width of the pid slot at the start of the lock file: fixed, so a shorter pid written later
/// never leaves digits of a longer one behind. Windows locks only the bytes after it, so a
/// waiter can still read it there.
const PID_SLOT: usize = 12;
/// Lock files locked in one acquisition before giving up: each one was deleted or replaced
/// right after we locked it, which only something bent on it does.
const MAX_RELOCKS: usize = 100;

/// The sidecar lock file, opened once per process and kept open for its lifetime; reopened
/// only when its path comes to name another file.
pub(crate) struct LockFile {
    file: RefCell<File>,
    /// Which file `file` is, learnt when it was opened.
    id: Cell<FileId>,
    dir: DataDir,
    name: OsString,
    path: PathBuf,
    /// This process's pid as written into the lock file, formatted once.
    pid_slot: String,
}

/// Proof that this process holds the lock; dropping it releases the lock.
pub(crate) struct LockGuard<'a> {
    lock: &'a LockFile,
}

/// The lock file that belongs to a data file: `data.json` → `data.json.lock`.
pub(crate) fn lock_path_for(data: &Path) -> PathBuf {
    let mut name = data.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl LockFile {
    /// Opens (creating if needed) the lock file at `path`, a name in `dir`, by the sidecar
    /// rules (no link followed, a regular file with one link). It is never truncated,
    /// replaced or deleted by us: every participant must lock the very same inode.
    pub(crate) fn open(dir: &DataDir, path: &Path) -> Result<LockFile> {
        let opened = dir.open_sidecar(path, "lock file", Writes::InPlace)?;
        Ok(LockFile {
            file: RefCell::new(opened.file),
            id: Cell::new(opened.id),
            dir: dir.clone(),
            name: path
                .file_name()
                .expect("a lock path ends in a name")
                .to_owned(),
            path: path.to_path_buf(),
            pid_slot: slot(&std::process::id().to_string()),
        })
    }

    /// Takes the exclusive lock by the one waiting policy (see [`wait`]): `on_wait(holder)`
    /// is told once if someone holds it. Without `on_wait` nobody is told, so the holder's
    /// pid is not even read.
    ///
    /// Once granted, the lock path must still name the locked file (one `stat`): a lock on
    /// a deleted or replaced lock file excludes nobody, since everyone who opens the path now
    /// locks another file. Then the new file is opened and locked (the timeout counts from
    /// the first try), and the change is returned in `relocked`.
    pub(crate) fn acquire(
        &self,
        timeout: Option<Duration>,
        on_wait: Option<&dyn Fn(Option<u32>)>,
    ) -> Result<Acquired<LockGuard<'_>>> {
        let mut holder = None;
        let mut told = false;
        let mut tell = || {
            if let Some(on_wait) = on_wait
                && !told
            {
                told = true;
                holder = self.holder();
                on_wait(holder);
            }
        };
        let started = timeout.map(|_| Instant::now());
        let mut waited = false;
        let mut relocked = Vec::new();
        loop {
            let left = timeout
                .zip(started)
                .map(|(t, s)| t.saturating_sub(s.elapsed()));
            let file = self.file.borrow();
            let lock_exclusive = |blocking| sys::lock_sidecar(&file, PID_SLOT as u64, blocking);
            let waited_for = wait(&lock_exclusive, left, &mut tell);
            drop(file);
            match waited_for {
                Ok(Waited::No) => {}
                Ok(Waited::Yes) => waited = true,
                Ok(Waited::TimedOut) => {
                    return Ok(Acquired::TimedOut {
                        holder: self.holder().or(holder),
                    });
                }
                Err(e) => return Err(self.lock_error(&e)),
            }
            let granted_ns = sys::monotonic_ns();
            // The pid first, the path check after: a waiter that tries in between is told
            // "its holder has written no pid", and the check (a stat, slow on Windows) would
            // widen that moment. A pid left in a lock file found deleted or replaced is in a
            // file nobody opens by that path any more.
            self.write_pid();
            let Some(change) = self.change()? else {
                return Ok(self.held(waited, relocked, granted_ns));
            };
            self.unlock();
            if relocked.len() >= MAX_RELOCKS {
                return Err(Error::environment(tr!(
                    "error-lock-keeps-vanishing",
                    times = MAX_RELOCKS,
                    path = self.path.one_line()
                )));
            }
            self.reopen()?;
            relocked.push(change);
        }
    }

    /// For a step that cannot go on without the lock (the launcher setting or settling the
    /// stock): waits by the same policy, and a timeout is an error naming the holder.
    /// `on_relock` hears each time the lock file had to be locked anew.
    pub(crate) fn acquire_or_fail(
        &self,
        timeout: Option<Duration>,
        on_wait: &dyn Fn(Option<u32>),
        on_relock: &dyn Fn(LockFileChange),
    ) -> Result<LockGuard<'_>> {
        match self.acquire(timeout, Some(on_wait))? {
            Acquired::Held {
                guard, relocked, ..
            } => {
                relocked.into_iter().for_each(on_relock);
                Ok(guard)
            }
            Acquired::TimedOut { holder } => Err(Error::environment(tr!(
                "error-lock-timed-out",
                ms = timeout.map_or(0, |d| d.as_millis()).to_string(),
                path = self.path.one_line(),
                holder = holder_name(holder)
            ))),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the lock path still names the file this process locks; checked after each
    /// lock is granted, and by a holder before it writes (see [`LockGuard::lost`]).
    fn change(&self) -> Result<Option<LockFileChange>> {
        let now = self
            .dir
            .id_of(&self.name)
            .map_err(|e| Error::io("inspect lock file", &self.path, &e))?;
        Ok(match now {
            Some(id) if id == self.id.get() => None,
            Some(_) => Some(LockFileChange::Replaced),
            None => Some(LockFileChange::Deleted),
        })
    }

    /// Opens the file the lock path names now (creating it if it is gone), by the same rules
    /// as the first open.
    fn reopen(&self) -> Result<()> {
        let opened = self
            .dir
            .open_sidecar(&self.path, "lock file", Writes::InPlace)?;
        *self.file.borrow_mut() = opened.file;
        self.id.set(opened.id);
        Ok(())
    }

    /// Best effort: the pid only makes "waiting for lock held by pid N" messages possible.
    fn write_pid(&self) {
        self.write_slot(self.pid_slot.as_bytes());
    }

    /// Writes the pid slot in place (a pwrite), never synced: a power cut may keep, lose or
    /// zero it, which only changes whom a waiter names. Recorded for `explore --power-cut`.
    fn write_slot(&self, slot: &[u8]) {
        if sys::write_all_at(&self.file.borrow(), slot, 0).is_ok() {
            record::note(|| Op::Write {
                name: record::name(&self.name),
                offset: 0,
                bytes: record::hex(slot),
            });
        }
    }

    fn held(
        &self,
        waited: bool,
        relocked: Vec<LockFileChange>,
        granted_ns: u64,
    ) -> Acquired<LockGuard<'_>> {
        Acquired::Held {
            guard: LockGuard { lock: self },
            waited,
            relocked,
            granted_ns,
        }
    }

    /// The pid the current holder wrote, if any. A holder that was killed leaves its pid
    /// behind, so this is a hint for messages, never used for decisions.
    pub(crate) fn holder(&self) -> Option<u32> {
        let mut buf = [0u8; PID_SLOT];
        let n = sys::read_at(&self.file.borrow(), &mut buf, 0).ok()?;
        std::str::from_utf8(&buf[..n]).ok()?.trim().parse().ok()
    }

    fn unlock(&self) {
        let _ = sys::unlock_sidecar(&self.file.borrow(), PID_SLOT as u64);
    }

    fn lock_error(&self, err: &io::Error) -> Error {
        // Only the launcher installs signal handlers (SIGINT, SIGTERM), so a wait cut short
        // by a signal means the user asked to stop.
        if err.kind() == io::ErrorKind::Interrupted {
            return Error::new(
                Failure::Interrupted,
                tr!("error-lock-wait-interrupted", path = self.path.one_line()),
            );
        }
        if sys::lock_unsupported(err) {
            Error::environment(tr!(
                "error-lock-unsupported",
                path = self.path.one_line(),
                error = err.to_string()
            ))
        } else {
            Error::io("lock", &self.path, err)
        }
    }
}

/// "pid 812", or "another process" when the holder left no pid.
pub(crate) fn holder_name(holder: Option<u32>) -> String {
    holder.map_or_else(
        || tr!("holder-another-process"),
        |pid| tr!("holder-pid", pid = pid),
    )
}

/// `text` left-aligned in the fixed-width pid slot.
fn slot(text: &str) -> String {
    format!("{text:<width$}\n", width = PID_SLOT - 1)
}

/// The blank slot a holder leaves when it unlocks.
const EMPTY_SLOT: &[u8; PID_SLOT] = b"           \n";

fn is_contended(err: &io::Error) -> bool {
    // On Windows a busy lock is not WouldBlock; fs2 knows which error it is on each platform.
    err.raw_os_error() == fs2::lock_contended_error().raw_os_error()
}

impl LockGuard<'_> {
    /// Whether the lock file was deleted or replaced since this lock was granted: then the
    /// lock no longer excludes anyone (whoever opens the path now locks another file), and
    /// nothing may be written under it. One `stat`; a holder that waited (the network delay)
    /// checks right before it writes.
    pub(crate) fn lost(&self) -> Result<Option<LockFileChange>> {
        self.lock.change()
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        // Blank the pid first, so a waiter never names a holder that has gone (the launcher
        // after setting the stock, say).
        self.lock.write_slot(EMPTY_SLOT);
        self.lock.unlock();
    }
}

/// The race gate: while a launcher races it holds a *shared* flock on the order log; a
/// restock needs it *exclusively*. So a restock never lands in the middle of someone else's
/// race (it waits for every running race to end), and `--keep-stock` runs join a running race.
/// The log is never replaced, so every participant locks the same inode; buyers never touch
/// the gate, so it costs a purchase nothing.
pub(crate) struct RaceGate {
    file: File,
    path: PathBuf,
}

/// Held while racing (shared) or restocking (exclusive); dropping it opens the gate.
pub(crate) struct GateGuard<'a> {
    gate: &'a RaceGate,
}

impl RaceGate {
    /// A descriptor of its own on the order log: flocks belong to the open file, so this one
    /// never interferes with the log's appends. It is the very file `log` has open (opened
    /// anew through it, never by name), whatever has happened to the name since.
    pub(crate) fn open(log: &OrderLog) -> Result<RaceGate> {
        let file = log.open_again()?;
        Ok(RaceGate {
            file,
            path: log.path().to_path_buf(),
        })
    }

    /// Enters the gate, waiting as long as `timeout` allows; `on_wait(pids)` is told once, with
    /// the launchers holding the gate, when it must wait.
    pub(crate) fn enter(
        &self,
        mode: Mode,
        timeout: Option<Duration>,
        on_wait: &dyn Fn(&[u32]),
    ) -> Result<GateGuard<'_>> {
        let mut tell = || on_wait(&sys::lock_holders(&self.file));
        let share = match mode {
            Mode::Shared => Share::Shared,
            Mode::Exclusive => Share::Exclusive,
        };
        let lock = |blocking| sys::gate_lock(&self.file, share, blocking);
        match wait(&lock, timeout, &mut tell) {
            Ok(Waited::No | Waited::Yes) => Ok(GateGuard { gate: self }),
            Ok(Waited::TimedOut) => Err(Error::environment(tr!(
                "error-race-gate-timed-out",
                ms = timeout.map_or(0, |d| d.as_millis()).to_string(),
                launchers = launchers(&sys::lock_holders(&self.file)),
                path = self.path.one_line()
            ))),
            Err(e) => Err(self.error(&e)),
        }
    }

    fn error(&self, err: &io::Error) -> Error {
        if err.kind() == io::ErrorKind::Interrupted {
            return Error::new(
                Failure::Interrupted,
                tr!("error-race-gate-interrupted", path = self.path.one_line()),
            );
        }
        Error::io("lock the race gate on", &self.path, err)
    }
}

impl Drop for GateGuard<'_> {
    fn drop(&mut self) {
        let _ = sys::gate_unlock(&self.gate.file);
    }
}

/// How a lock is held: shared with others that hold it shared, or by one alone.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Mode {
    /// Racing: any number of runs race on one stock together.
    Shared,
    /// Restocking (and every data lock): no one else at the same time.
    Exclusive,
}

/// How a wait went.
enum Waited {
    /// The lock was free.
    No,
    /// Someone held it; we waited and got it.
    Yes,
    /// The timeout ran out first.
    TimedOut,
}

/// The one waiting policy for every flock here. Tries without blocking first, so that a
/// contended lock is noticed and `tell` is called once; then blocks, or, since flock has no
/// timed wait, polls with a growing pause (1 ms → 16 ms) until `timeout`: quick to notice a
/// short critical section, cheap while a long one runs.
fn wait(
    lock: &dyn Fn(Blocking) -> io::Result<()>,
    timeout: Option<Duration>,
    tell: &mut dyn FnMut(),
) -> io::Result<Waited> {
    let attempt = || lock(Blocking::Try);
    match attempt() {
        Ok(()) => return Ok(Waited::No),
        Err(e) if !is_contended(&e) => return Err(e),
        Err(_) => {}
    }
    tell();
    let Some(limit) = timeout else {
        lock(Blocking::Wait)?;
        return Ok(Waited::Yes);
    };
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(1);
    loop {
        match attempt() {
            Ok(()) => return Ok(Waited::Yes),
            Err(e) if !is_contended(&e) => return Err(e),
            Err(_) => {}
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(Waited::TimedOut);
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(16));
    }
}

/// "launcher pid 812", "launchers pid 812 and pid 907", or "another launcher".
pub(crate) fn launchers(pids: &[u32]) -> String {
    match pids {
        [] => tr!("launchers-another"),
        [one] => tr!("launchers-one", pid = one.to_string()),
        many => {
            let names: Vec<String> = many
                .iter()
                .map(|p| tr!("holder-pid", pid = p.to_string()))
                .collect();
            tr!("launchers-many", list = names.join(&tr!("launchers-and")))
        }
    }
}
