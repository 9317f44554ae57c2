//! The words of every step on its own line (`--verbose`, stepped runs, the classroom page),
//! the rare steps phrases say the same way, and the closing list of the run's files.

use super::Narrator;
use crate::events::{Event, LockFileChange, Message, Outcome};
use crate::lang::tr;
use crate::safe_text::OneLine;
use crate::settings::{Settings, Step};
use crate::shop::lock::lock_path_for;
use crate::shop::orders::log_path_for;
use crate::show::words::{Store, buyer, describe_move, millis, step};

impl Narrator {
    /// `--verbose`: the words for one event.
    pub(super) fn step_words(&self, message: &Message, was_holding: bool) -> String {
        let one = "one";
        match &message.event {
            Event::Spawned => tr!("step-spawned", pid = message.pid),
            Event::Ready => tr!("step-ready"),
            Event::Started => tr!("step-started"),
            Event::Paused { before } => tr!("step-paused", next = describe_move(*before)),
            Event::Finished {
                outcome,
                bought,
                attempts,
                delays_ms,
                retries,
                ..
            } => tr!(
                "step-finished",
                outcome = outcome_key(*outcome),
                bought = *bought,
                attempts = *attempts,
                retries = *retries,
                delays = delay_list(delays_ms)
            ),
            Event::Searched { seen } => {
                tr!("step-searched", pid = message.pid, seen = *seen)
            }
            Event::LockWait { holder } => match self.who(*holder, message.buyer) {
                Some(holder) => tr!("say-waits-for", n = one, holder = holder),
                None => tr!("say-waits", n = one),
            },
            Event::LockAcquired { waited_us: 0, .. } => tr!("say-takes", n = one),
            Event::LockAcquired { waited_us, .. } => {
                tr!("step-takes-after", waited = millis(*waited_us))
            }
            Event::Recovered {
                seq,
                of_buyer,
                of_pid,
                after,
            } => tr!(
                "step-recovered",
                seq = *seq,
                of = tr!("buyer-with-pid", who = buyer(*of_buyer), pid = *of_pid),
                after = *after
            ),
            Event::Relocked { lock_file } => relocked_words(*lock_file),
            Event::LockLost { lock_file } => lock_lost_words(*lock_file),
            Event::Read { seen } => tr!("say-read", n = one, seen = *seen),
            Event::Delay { ms } => tr!("say-delay", ms = *ms),
            Event::Ordered { seq, before, after } => {
                let order = match self.again_of(*seq, message.buyer) {
                    None => tr!("step-order-logged", seq = *seq, store = self.store().key()),
                    Some(first) => tr!("step-order-again", seq = *seq, first = buyer(first)),
                };
                tr!(
                    "step-bought",
                    before = *before,
                    after = *after,
                    order = order
                )
            }
            Event::Wrote { ticket_num } => {
                tr!("say-wrote", n = one, ticket_num = *ticket_num)
            }
            Event::SoldOut { .. } => tr!("step-sold-out"),
            Event::LockReleased => tr!("say-released", n = one),
            Event::Retried { seen } => retried_words(*seen),
            Event::LockTimedOut { holder } => match self.who(*holder, message.buyer) {
                Some(holder) => tr!("say-gives-up-on", n = one, holder = holder),
                None => tr!("say-gives-up", n = one),
            },
            Event::Killed { step, attempt } => killed_words(*step, Some(*attempt), was_holding),
            Event::Failed { message, .. } => tr!("say-failed", message = message.as_str()),
        }
    }

    fn store(&self) -> Store {
        if self.on_database {
            Store::Database
        } else {
            Store::File
        }
    }
}

/// "KILLED by fault injection at order_logged, holding the lock: the kernel frees it"; step by
/// step, the attempt is named too ("at order_logged of attempt 2").
pub(super) fn killed_words(at: Step, attempt: Option<u64>, holding: bool) -> String {
    let holding = if holding { "yes" } else { "no" };
    match attempt {
        Some(attempt) => tr!(
            "say-killed-attempt",
            step = step(at),
            attempt = attempt,
            holding = holding
        ),
        None => tr!("say-killed", step = step(at), holding = holding),
    }
}

/// With `--verbose`, the last line: the run id and every file the run used.
pub(crate) fn run_files(settings: &Settings, run: &str) -> String {
    if settings.on_database() {
        return tr!("files-database", run = run, place = settings.stock_place());
    }
    let data = settings.data();
    let mut line = tr!(
        "files",
        run = run,
        data = data.one_line(),
        lock = lock_path_for(data).one_line(),
        log = log_path_for(data).one_line()
    );
    if let Some(trace) = settings.trace() {
        line.push_str(&tr!("files-trace", path = trace.one_line()));
    }
    if let Some(html) = settings.html() {
        line.push_str(&tr!("files-page", path = html.one_line()));
    }
    line
}

pub(super) fn retried_words(seen: u64) -> String {
    tr!("say-refused", seen = seen)
}

pub(super) fn relocked_words(change: LockFileChange) -> String {
    tr!("say-relocked", change = change_key(change))
}

pub(super) fn lock_lost_words(change: LockFileChange) -> String {
    tr!("say-lock-lost", change = change_key(change))
}

fn change_key(change: LockFileChange) -> &'static str {
    match change {
        LockFileChange::Deleted => "deleted",
        LockFileChange::Replaced => "replaced",
    }
}

/// As in "the lock file was deleted". Another file at the lock path may be a replacement, or
/// a new one someone made after deleting it: the path cannot tell.
pub(crate) fn change_name(change: LockFileChange) -> String {
    tr!("lock-file-change", change = change_key(change))
}

fn outcome_key(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Bought => "bought",
        Outcome::SoldOut => "sold_out",
        Outcome::LockTimeout => "lock_timeout",
    }
}

/// "242 ms" or "242, 107, 130 ms"; only the first few of a long run.
fn delay_list(delays_ms: &[u64]) -> String {
    const SHOWN: usize = 5;
    let mut list: Vec<String> = delays_ms.iter().take(SHOWN).map(u64::to_string).collect();
    if delays_ms.len() > SHOWN {
        list.push("...".to_string());
    }
    if list.is_empty() {
        tr!("delays-none")
    } else {
        tr!("delays", list = list.join(", "))
    }
}
