//! Live narration: turns each buyer event into one line a person can follow as it happens.

use std::collections::HashMap;

use super::text::{millis, plural, seconds};
use crate::events::{Event, LockFileChange, Message, Outcome};
use crate::settings::Settings;
use crate::shop::lock::lock_path_for;
use crate::shop::orders::log_path_for;

/// Remembers which pid is which buyer, so "held by pid 812" can say "buyer-4 (pid 812)".
#[derive(Default)]
pub struct Narrator {
    buyer_of_pid: HashMap<u32, u32>,
    /// Which buyer first took each order number (the ledger's seq): racing buyers without
    /// the lock claim the same one.
    first_with_seq: HashMap<u64, u32>,
    /// Also tell each buyer's spawn, start and finish (`--verbose`).
    verbose: bool,
    /// Where orders go: "the log", or "the orders table" on a database.
    ledger: &'static str,
}

impl Narrator {
    pub fn new(verbose: bool) -> Narrator {
        Narrator {
            verbose,
            ledger: "the log",
            ..Narrator::default()
        }
    }

    /// Narrates a race on the database store, whose ledger is the orders table.
    pub fn on_database(self) -> Narrator {
        Narrator {
            ledger: "the orders table",
            ..self
        }
    }

    /// The line for `message`, or None for events that would only add noise.
    pub fn line(&mut self, message: &Message) -> Option<String> {
        self.buyer_of_pid.insert(message.pid, message.buyer);
        let what = match &message.event {
            Event::Spawned | Event::Started | Event::Finished { .. } | Event::Paused { .. }
                if !self.verbose =>
            {
                return None;
            }
            Event::Paused { before } => {
                format!("pauses before its next move: {}", before.describe())
            }
            Event::Spawned => format!("(pid {}) spawned", message.pid),
            Event::Started => "hears the starting gun".to_string(),
            Event::Finished {
                outcome,
                bought,
                attempts,
                delays_ms,
                retries,
                ..
            } => format!(
                "finished: {}, bought {bought} in {}{} (delays {})",
                outcome_name(*outcome),
                plural(*attempts, "attempt"),
                match retries {
                    0 => String::new(),
                    1 => " and 1 retry".to_string(),
                    n => format!(" and {n} retries"),
                },
                delay_list(delays_ms)
            ),
            Event::Searched { seen } => {
                format!(
                    "(pid {}) searches: sees {} left",
                    message.pid,
                    plural(*seen, "ticket")
                )
            }
            Event::LockWait { holder } => {
                format!("waits for the lock, held by {}", self.who(*holder))
            }
            Event::LockAcquired { waited_us: 0 } => "takes the lock".to_string(),
            Event::LockAcquired { waited_us } => {
                format!("takes the lock after waiting {}", millis(*waited_us))
            }
            Event::Recovered {
                seq,
                of_buyer,
                of_pid,
                after,
            } => format!(
                "finishes order #{seq} of buyer-{of_buyer} (pid {of_pid}), who died after committing it: \
                 ticket_num = {after}"
            ),
            Event::Relocked { lock_file } => {
                format!(
                    "the lock file was {}; locked the new one",
                    change_name(*lock_file)
                )
            }
            Event::LockLost { lock_file } => format!(
                "the lock file was {} while it held the lock, so the lock no longer kept \
                 anyone out: writes nothing, lets go and starts the purchase again",
                change_name(*lock_file)
            ),
            Event::Read { seen } => format!("reads ticket_num = {seen}"),
            Event::Delay { ms } => format!("network delay {ms} ms ..."),
            Event::Ordered { seq, before, after } => {
                let first = *self.first_with_seq.entry(*seq).or_insert(message.buyer);
                let order = if first == message.buyer {
                    format!("order #{seq} is in {}", self.ledger)
                } else {
                    format!(
                        "order #{seq} again: buyer-{first} logged that number too, both deciding \
                         from the same stale count"
                    )
                };
                format!("BOUGHT a ticket, confirmed: {before} -> {after} ({order})")
            }
            Event::Wrote { ticket_num } => format!("writes ticket_num = {ticket_num}"),
            Event::SoldOut { .. } => "sold out: no ticket left".to_string(),
            Event::LockReleased => "releases the lock".to_string(),
            Event::Retried { seen } => format!(
                "REFUSED by the database: another purchase changed the stock after it read \
                 {seen}; nothing was written, it tries again"
            ),
            Event::LockTimedOut { holder } => format!(
                "gives up waiting for the lock (--lock-timeout), still held by {}",
                self.who(*holder)
            ),
            Event::Failed { message, .. } => format!("FAILED: {message}"),
        };
        Some(format!(
            "{:>8}  buyer-{:<3} {what}",
            seconds(message.t_us),
            message.buyer
        ))
    }

    fn who(&self, holder: Option<u32>) -> String {
        match holder {
            Some(pid) => match self.buyer_of_pid.get(&pid) {
                Some(buyer) => format!("buyer-{buyer} (pid {pid})"),
                None => format!("pid {pid}"),
            },
            None => "another process".to_string(),
        }
    }
}

/// With `--verbose`, the last line: the run id and every file the run used.
pub fn run_files(settings: &Settings, run: &str) -> String {
    if settings.on_database() {
        return format!(
            "run {run}: database {} (tables grab_tickets.stock and grab_tickets.orders)",
            settings.stock_place()
        );
    }
    let data = &settings.data;
    let mut line = format!(
        "run {run}: data {}, lock {}, order log {}",
        data.display(),
        lock_path_for(data).display(),
        log_path_for(data).display()
    );
    if let Some(trace) = &settings.trace {
        line.push_str(&format!(", trace {}", trace.display()));
    }
    line
}

/// As in "the lock file was deleted". Another file at the lock path may be a replacement, or
/// a new one someone made after deleting it: the path cannot tell.
pub fn change_name(change: LockFileChange) -> &'static str {
    match change {
        LockFileChange::Deleted => "deleted",
        LockFileChange::Replaced => "deleted or replaced",
    }
}

fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Bought => "got every ticket it wanted",
        Outcome::SoldOut => "sold out",
        Outcome::LockTimeout => "gave up on the lock",
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
        "none".to_string()
    } else {
        format!("{} ms", list.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(event: Event) -> String {
        Narrator::new(false)
            .line(&Message::at(2, 1_500, event))
            .unwrap()
    }

    #[test]
    fn a_lost_lock_file_is_told_as_it_happened() {
        assert_eq!(
            said(Event::Relocked {
                lock_file: LockFileChange::Deleted
            }),
            "  0.002s  buyer-2   the lock file was deleted; locked the new one"
        );
        assert!(
            said(Event::Relocked {
                lock_file: LockFileChange::Replaced
            })
            .ends_with("the lock file was deleted or replaced; locked the new one")
        );
        assert!(
            said(Event::LockLost {
                lock_file: LockFileChange::Deleted
            })
            .ends_with(
                "the lock file was deleted while it held the lock, so the lock no longer \
                 kept anyone out: writes nothing, lets go and starts the purchase again"
            )
        );
    }
}
