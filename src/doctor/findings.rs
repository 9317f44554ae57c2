//! What `doctor` found, as facts: which probe, what came of it (an [`Outcome`] a view puts
//! into words), and the [`Verdict`] that follows from it. No wording here.

use std::time::Duration;

use serde::Serialize;

use crate::exit::Exit;

/// One probe's verdict, and the whole directory's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Verdict {
    Safe,
    NotSafe,
    /// The probe could not run here (a directory it cannot write, a helper that never
    /// answered): nothing is known, so nothing is promised.
    CannotTest,
    /// The question does not arise on this platform (flock against fcntl on Windows).
    NotApplicable,
}

impl Verdict {
    /// The exit status of a checkup whose overall verdict this is (docs/exit-codes.md):
    /// "cannot test" is the environment's status, 4, as for any run the OS refused.
    pub(crate) fn exit(self) -> Exit {
        match self {
            Verdict::Safe | Verdict::NotApplicable => Exit::Success,
            Verdict::NotSafe => Exit::CheckFailed,
            Verdict::CannotTest => Exit::Environment,
        }
    }

    /// The directory's verdict: any probe not safe makes it not safe; else any probe that
    /// could not run leaves it untested; a probe that does not apply changes nothing.
    pub(crate) fn overall(findings: &[Finding]) -> Verdict {
        let any = |v: Verdict| findings.iter().any(|f| f.verdict() == v);
        if any(Verdict::NotSafe) {
            Verdict::NotSafe
        } else if any(Verdict::CannotTest) || findings.is_empty() {
            Verdict::CannotTest
        } else {
            Verdict::Safe
        }
    }
}

/// The probes, in the order they run and are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Probe {
    /// The race's own lock (fs2 on the sidecar lock file) held by one process blocks another.
    ExclusiveLock,
    /// flock and fcntl (POSIX record) locks: each excludes its own kind; do they see each other?
    FlockAndFcntl,
    /// A reader never sees a missing or partial data file while it is replaced.
    AtomicReplace,
    FileFsync,
    DirectoryFsync,
}

impl Probe {
    pub(crate) const ALL: [Probe; 5] = [
        Probe::ExclusiveLock,
        Probe::FlockAndFcntl,
        Probe::AtomicReplace,
        Probe::FileFsync,
        Probe::DirectoryFsync,
    ];

    /// The probe's name in catalog keys and JSON.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Probe::ExclusiveLock => "exclusive_lock",
            Probe::FlockAndFcntl => "flock_and_fcntl",
            Probe::AtomicReplace => "atomic_replace",
            Probe::FileFsync => "file_fsync",
            Probe::DirectoryFsync => "directory_fsync",
        }
    }
}

/// What the reader process counted while the data file was replaced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub(crate) struct Reads {
    /// Replaces made while the reader read.
    pub swaps: u64,
    /// Whole, valid documents read.
    pub whole: u64,
    /// Times the document read differed from the one before: the reader saw swaps happen.
    pub changes: u64,
    /// Opens that found no file at all.
    pub missing: u64,
    /// Reads that got a short, long or invalid document.
    pub partial: u64,
    /// Opens or reads that failed otherwise (Windows: a file being replaced, refused).
    pub failed: u64,
}

/// What came of a probe. Each outcome has one verdict ([`Outcome::verdict`]) and one sentence
/// per language (`doctor-outcome-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub(crate) enum Outcome {
    /// A second process was refused the lock while the first held it, and got it once released.
    LockExcludes,
    /// A second process got the lock while the first held it.
    LockShared,
    /// The second process never got the lock, even after the first released it.
    LockStuck,
    /// Taking the lock failed (no lock support, say): the race's lock cannot run here.
    LockRefused,
    /// Each kind excludes its own kind, and the two are separate (local Linux filesystems).
    KindsSeparate,
    /// Each kind excludes its own kind and the other (flock emulated with record locks, as
    /// NFS and SMB do, and BSD-derived kernels).
    KindsSeeEachOther,
    /// Each kind excludes its own; the two see each other one way only.
    KindsOneWay,
    /// A lock of one kind did not exclude a second process's lock of the same kind.
    KindsDoNotExclude,
    /// Windows has one kind of lock.
    OneLockKind,
    /// Every read during the swaps found a whole document.
    ReplaceAtomic(Reads),
    /// Some read found no file, or part of one.
    ReplaceTorn(Reads),
    /// The reader never saw a swap happen, so the test proved nothing.
    ReaderSawNoSwap(Reads),
    /// A replace itself failed (after `swaps` that worked).
    ReplaceFailed(Reads),
    SyncWorks,
    SyncRefused,
    /// Windows cannot fsync a directory; renames are written through instead.
    DirectorySyncWriteThrough,
    /// The directory does not exist.
    NoDirectory,
    /// A file could not be created in the directory (read-only, permissions, full).
    NotWritable,
    /// The second process could not be started or did not answer as it should.
    HelperFailed,
}

impl Outcome {
    pub(crate) fn verdict(self) -> Verdict {
        use Outcome::*;
        match self {
            LockExcludes | KindsSeparate | KindsSeeEachOther | KindsOneWay | ReplaceAtomic(_)
            | SyncWorks => Verdict::Safe,
            LockShared | LockStuck | LockRefused | KindsDoNotExclude | ReplaceTorn(_)
            | ReplaceFailed(_) | SyncRefused => Verdict::NotSafe,
            ReaderSawNoSwap(_) | NoDirectory | NotWritable | HelperFailed => Verdict::CannotTest,
            OneLockKind | DirectorySyncWriteThrough => Verdict::NotApplicable,
        }
    }

    /// The outcome's name in catalog keys (`doctor-outcome-lock_excludes`).
    pub(crate) fn key(self) -> String {
        let json = serde_json::to_value(self).unwrap_or_default();
        json["outcome"].as_str().unwrap_or_default().to_string()
    }

    /// The reader's counts, for the outcomes that have them.
    pub(crate) fn reads(self) -> Option<Reads> {
        match self {
            Outcome::ReplaceAtomic(r)
            | Outcome::ReplaceTorn(r)
            | Outcome::ReaderSawNoSwap(r)
            | Outcome::ReplaceFailed(r) => Some(r),
            _ => None,
        }
    }
}

/// One probe's result: what came of it, the OS's error if one explains it, and how long it took.
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    pub probe: Probe,
    pub outcome: Outcome,
    pub error: Option<String>,
    pub took: Duration,
}

impl Finding {
    pub(crate) fn verdict(&self) -> Verdict {
        self.outcome.verdict()
    }
}
