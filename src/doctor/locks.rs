//! The lock probes. `exclusive_lock`: the race's own lock (fs2 on the sidecar lock file,
//! through `shop::lock`) held here must refuse a second process, and reach it once released.
//! `flock_and_fcntl`: on Unix each kind must exclude its own kind across processes, and the
//! probe says whether the two kinds see each other (NFS emulates flock with record locks).

use crate::safe_text::OneLine;
use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use super::findings::{Finding, Outcome, Probe};
use super::helper::{BACKSTOP, Helper, Role, Silence, heard, tell};
use super::scratch::Scratch;
use crate::lang::tr;
use crate::shop::Acquired;
use crate::shop::directory::DataDir;
use crate::shop::lock::{LockFile, lock_path_for};
use crate::shop::planted::{Bug, planted};
use crate::sys::{self, LockKind, LockKinds, Locked};

pub(crate) fn exclusive_lock(scratch: &Scratch) -> Finding {
    let started = Instant::now();
    let (outcome, error) = match hold_and_contend(&scratch.path("lock.json")) {
        Ok(outcome) => (outcome, None),
        Err((outcome, why)) => (outcome, Some(why)),
    };
    Finding {
        probe: Probe::ExclusiveLock,
        outcome,
        error,
        took: started.elapsed(),
    }
}

/// Takes the lock of data file `data`, has a helper try it (refused?), releases it, has the
/// helper wait for it (granted?).
fn hold_and_contend(data: &Path) -> Result<Outcome, (Outcome, String)> {
    let refused = |e: crate::exit::Error| (Outcome::LockRefused, e.to_string());
    let (dir, _) = DataDir::open(data).map_err(|e| (Outcome::NotWritable, e.to_string()))?;
    let lock = LockFile::open(&dir, &lock_path_for(data))
        .map_err(|e| (Outcome::NotWritable, e.to_string()))?;
    let guard = match lock.acquire(None, None).map_err(refused)? {
        Acquired::Held { guard, .. } => guard,
        Acquired::TimedOut { .. } => unreachable!("no timeout was set"),
    };
    let silent = |s: Silence| (Outcome::HelperFailed, s.0);
    let mut helper = Helper::spawn(Role::Lock, data, None).map_err(silent)?;
    helper.expect("ready").map_err(silent)?;
    helper.say("try").map_err(silent)?;
    if helper.hear().map_err(silent)? != "blocked" {
        return Ok(Outcome::LockShared);
    }
    drop(guard);
    helper.say("wait").map_err(silent)?;
    Ok(match helper.hear().map_err(silent)?.as_str() {
        "got" => Outcome::LockExcludes,
        _ => Outcome::LockStuck,
    })
}

/// The helper's side of [`exclusive_lock`]: on `try`, one try of the lock; on `wait`, a wait
/// of up to the backstop. Answers `got`, `blocked` or `failed WHY`.
pub(crate) fn contend(data: &Path) {
    let mut lock_path = lock_path_for(data);
    if planted(Bug::LockElsewhere) {
        lock_path.set_extension("elsewhere");
    }
    let opened = DataDir::open(data).and_then(|(dir, _)| LockFile::open(&dir, &lock_path));
    let lock = match opened {
        Ok(lock) => lock,
        Err(e) => return tell(&format!("failed {e}")),
    };
    tell("ready");
    while let Some(line) = heard() {
        let patience = match line.as_str() {
            "try" => Duration::ZERO,
            "wait" => BACKSTOP,
            _ => continue,
        };
        match lock.acquire(Some(patience), None) {
            // Released at once: holding it is not the question.
            Ok(Acquired::Held { .. }) => tell("got"),
            Ok(Acquired::TimedOut { .. }) => tell("blocked"),
            Err(e) => tell(&format!("failed {e}")),
        }
    }
}

/// The pairs tried: a lock of the first kind held here, one of the second tried by the helper.
const PAIRS: [(LockKind, LockKind); 4] = [
    (LockKind::Flock, LockKind::Flock),
    (LockKind::Record, LockKind::Record),
    (LockKind::Flock, LockKind::Record),
    (LockKind::Record, LockKind::Flock),
];

pub(crate) fn flock_and_fcntl(scratch: &Scratch) -> Finding {
    let started = Instant::now();
    let (outcome, error) = match sys::LOCK_KINDS {
        LockKinds::OneKind => (Outcome::OneLockKind, None),
        LockKinds::FlockAndRecord => match compare_kinds(&scratch.path("kinds")) {
            Ok(outcome) => (outcome, None),
            Err((outcome, why)) => (outcome, Some(why)),
        },
    };
    Finding {
        probe: Probe::FlockAndFcntl,
        outcome,
        error,
        took: started.elapsed(),
    }
}

fn compare_kinds(path: &Path) -> Result<Outcome, (Outcome, String)> {
    let file = File::create_new(path)
        .and_then(|_| File::options().read(true).write(true).open(path))
        .map_err(|e| {
            (
                Outcome::NotWritable,
                format!("{}: {e}", crate::safe_text::OneLine::one_line(path)),
            )
        })?;
    let silent = |s: Silence| (Outcome::HelperFailed, s.0);
    let mut helper = Helper::spawn(Role::Kinds, path, None).map_err(silent)?;
    helper.expect("ready").map_err(silent)?;
    let mut got = Vec::new();
    for (held, tried) in PAIRS {
        match sys::try_lock_kind(&file, held) {
            Ok(Locked::Got) => {}
            Ok(Locked::Blocked) => {
                let why = tr!("doctor-kind-already-held", path = path.one_line());
                return Err((Outcome::HelperFailed, why));
            }
            Err(e) => return Err((Outcome::KindsDoNotExclude, format!("{held:?}: {e}"))),
        }
        helper.say(kind_name(tried)).map_err(silent)?;
        let answer = helper.hear().map_err(silent);
        let _ = sys::unlock_kind(&file, held);
        got.push(match answer?.as_str() {
            "blocked" => Locked::Blocked,
            _ => Locked::Got,
        });
    }
    use Locked::{Blocked, Got};
    Ok(match got[..] {
        [Blocked, Blocked, Got, Got] => Outcome::KindsSeparate,
        [Blocked, Blocked, Blocked, Blocked] => Outcome::KindsSeeEachOther,
        [Blocked, Blocked, _, _] => Outcome::KindsOneWay,
        _ => Outcome::KindsDoNotExclude,
    })
}

fn kind_name(kind: LockKind) -> &'static str {
    match kind {
        LockKind::Flock => "flock",
        LockKind::Record => "record",
    }
}

/// The helper's side of [`flock_and_fcntl`]: on `flock` or `record`, one try of that kind on
/// its own open of the file, released at once. Answers `got`, `blocked` or `failed WHY`.
pub(crate) fn try_kinds(path: &Path) {
    let file = match File::options().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(e) => {
            return tell(&format!(
                "failed {}: {e}",
                crate::safe_text::OneLine::one_line(path)
            ));
        }
    };
    tell("ready");
    while let Some(line) = heard() {
        let kind = match line.as_str() {
            "flock" => LockKind::Flock,
            "record" => LockKind::Record,
            _ => continue,
        };
        match sys::try_lock_kind(&file, kind) {
            Ok(Locked::Got) => {
                let _ = sys::unlock_kind(&file, kind);
                tell("got");
            }
            Ok(Locked::Blocked) => tell("blocked"),
            Err(e) => tell(&format!("failed {kind:?}: {e}")),
        }
    }
}
