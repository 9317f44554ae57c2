//! Bugs planted on purpose, so a test can show that `explore --power-cut` finds a protocol
//! that leaves out a sync, and that `doctor` can say "not safe": `GRAB_TICKETS_PLANTED_BUG`
//! names one. Never set in a real run.

use std::sync::OnceLock;

/// The environment variable that plants a bug (hidden: tests only).
pub(crate) const PLANTED_ENV: &str = "GRAB_TICKETS_PLANTED_BUG";

/// A sync the protocol makes that a planted bug leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bug {
    /// `no-log-dir-sync`: the directory is not fsynced after the order log is created, so
    /// the log's name may not survive a power cut even though its contents were fsynced.
    NoLogDirSync,
    /// `confirm-before-sync`: a buyer confirms its sale before the order log is fsynced.
    ConfirmBeforeSync,
    /// `torn-replace`: `doctor`'s writer rewrites the data file in place, in two writes,
    /// instead of swapping a new one in, so its reader can catch a torn file.
    TornReplace,
    /// `lock-elsewhere`: `doctor`'s second process locks another file than the first, as when
    /// a lock does not reach it, so the probe sees a lock that excludes nobody.
    LockElsewhere,
    /// `sync-dir-not-log`: a buyer makes its exchange of the data file durable (fsyncs the
    /// directory) instead of fdatasyncing the order log, as if data.json were the record.
    /// (Swapping data.json in before the order is synced is no bug by itself: the shipped
    /// protocol does it, and recovery rolls a data file ahead of the log back.)
    SyncDirNotLog,
}

/// Whether `bug` is planted in this process.
pub(crate) fn planted(bug: Bug) -> bool {
    static PLANTED: OnceLock<Option<Bug>> = OnceLock::new();
    let chosen = PLANTED.get_or_init(|| match std::env::var(PLANTED_ENV).ok()?.as_str() {
        "no-log-dir-sync" => Some(Bug::NoLogDirSync),
        "confirm-before-sync" => Some(Bug::ConfirmBeforeSync),
        "torn-replace" => Some(Bug::TornReplace),
        "lock-elsewhere" => Some(Bug::LockElsewhere),
        "sync-dir-not-log" => Some(Bug::SyncDirNotLog),
        _ => None,
    });
    *chosen == Some(bug)
}
