//! The vocabulary of a run: what a buyer did ([`Event`]), stamped with who and when
//! ([`Message`]). Buyers send these over the pipe (`race::pipe`), the report and every view
//! read them. Below everything but `exit` (a failure's [`Failure`] kind) and `settings`, whose [`Move`] names where a stepped buyer
//! paused and whose [`Step`] names where fault injection killed one.

use serde::{Deserialize, Serialize};

use crate::exit::Failure;
use crate::settings::{Move, Step};

/// How a buyer's attempts ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Outcome {
    /// Got every ticket it wanted.
    Bought,
    /// Found no ticket left (possibly after buying some).
    SoldOut,
    /// Gave up waiting for the lock (`--lock-timeout`).
    LockTimeout,
}

/// Something a buyer did, in the order it did it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Event {
    /// The launcher started this buyer's process. Recorded by the launcher itself when it
    /// spawns the child, never sent on the pipe, so buyers stay unchanged.
    Spawned,
    /// Opened its store and waits at the line for the gun. The launcher fires once every
    /// buyer has said so (or ended), and keeps no record of it: it is the start, not a step.
    Ready,
    /// Heard the starting gun.
    Started,
    /// Search step: read the file without buying.
    Searched {
        seen: u64,
    },
    /// The lock was busy; `holder` is the pid written in the lock file, if any.
    LockWait {
        holder: Option<u32>,
    },
    LockAcquired {
        waited_us: u64,
        /// When the lock was granted (`sys::monotonic_ns`; 0: unknown), for the message's
        /// timestamp only and never sent: the holder writes its pid and checks the lock file
        /// before it can say it took the lock, and a waiter that reads the pid meanwhile
        /// must not be told as waiting before the take.
        #[serde(skip)]
        granted_ns: u64,
    },
    /// By the time the lock was granted its file had been deleted or replaced, so the lock
    /// excluded nobody: the buyer locked the file the path names now (sent before
    /// `lock_acquired`).
    Relocked {
        lock_file: LockFileChange,
    },
    /// While the buyer held the lock, its file was deleted or replaced: the lock no longer
    /// excluded anyone, so the buyer wrote nothing, let go, and starts the purchase again.
    LockLost {
        lock_file: LockFileChange,
    },
    /// Finished an order whose buyer died after logging it but before updating the data file.
    Recovered {
        seq: u64,
        of_buyer: u32,
        of_pid: u32,
        after: u64,
    },
    /// Buy step: read the count it will decide on.
    Read {
        seen: u64,
    },
    /// The simulated network delay began.
    Delay {
        ms: u64,
    },
    /// The order is in the log (fsynced when durable): the sale is confirmed.
    Ordered {
        seq: u64,
        before: u64,
        after: u64,
    },
    /// The data file now says `ticket_num`.
    Wrote {
        ticket_num: u64,
    },
    /// Saw no ticket left.
    SoldOut {
        seen: u64,
    },
    LockReleased,
    /// `--serializable`: the database aborted the purchase that read `seen` (another one
    /// changed the stock first); nothing was written, and the buyer starts it again.
    Retried {
        seen: u64,
    },
    LockTimedOut {
        holder: Option<u32>,
    },
    /// The buyer's report line: what it saw at search and how it ended.
    Finished {
        outcome: Outcome,
        searched: u64,
        bought: u64,
        attempts: u64,
        delays_ms: Vec<u64>,
        /// Purchases the database aborted and the buyer ran again (`--serializable`).
        #[serde(default)]
        retries: u64,
    },
    /// Fault injection (`--chaos`, `--kill-at`) SIGKILLs this buyer now, at `step` of its
    /// attempt number `attempt`: the buyer's last word, sent just before it kills itself.
    Killed {
        step: Step,
        attempt: u64,
    },
    /// A stepped run only (`explore`, `--schedule`): the buyer stopped before `before` and
    /// waits until the launcher lets it make that move.
    Paused {
        before: Move,
    },
    /// The buyer hit an error and stops: `failure` is what kind, `message` says it to people.
    Failed {
        failure: Failure,
        message: String,
        exit_code: u8,
    },
}

/// What became of the lock file under a lock: the path no longer names the file locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LockFileChange {
    /// Nothing is at the lock path any more (`rm data.json.lock`).
    Deleted,
    /// Another file is at the lock path now: a replacement, or a new one made after the
    /// old one was deleted.
    Replaced,
}

/// One line on the pipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Message {
    pub buyer: u32,
    pub pid: u32,
    /// Microseconds since the launcher's epoch (shared monotonic clock).
    pub t_us: u64,
    #[serde(flatten)]
    pub event: Event,
}

#[cfg(test)]
impl Message {
    /// `event` from `buyer` (pid 100 + buyer) at `t_us`: the unit tests' way to make events.
    pub(crate) fn at(buyer: u32, t_us: u64, event: Event) -> Message {
        Message {
            buyer,
            pid: 100 + buyer,
            t_us,
            event,
        }
    }
}
