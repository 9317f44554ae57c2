//! Live narration: turns each buyer event into one line a person can follow as it happens.

use std::collections::HashMap;

use crate::events::{Event, Message};
use crate::report::plural;

/// Remembers which pid is which buyer, so "held by pid 812" can say "buyer-4 (pid 812)".
#[derive(Default)]
pub struct Narrator {
    buyer_of_pid: HashMap<u32, u32>,
}

impl Narrator {
    /// The line for `message`, or None for events that would only add noise.
    pub fn line(&mut self, message: &Message) -> Option<String> {
        self.buyer_of_pid.insert(message.pid, message.buyer);
        let what = match &message.event {
            Event::Spawned | Event::Started | Event::Finished { .. } => return None,
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
                buyer,
                pid,
                after,
            } => format!(
                "finishes order #{seq} of buyer-{buyer} (pid {pid}), who died after committing it: \
                 ticket_num = {after}"
            ),
            Event::Read { seen } => format!("reads ticket_num = {seen}"),
            Event::Delay { ms } => format!("network delay {ms} ms ..."),
            Event::Ordered { seq, before, after } => {
                format!("BUYS a ticket: {before} -> {after} (order #{seq} in the log)")
            }
            Event::Wrote { ticket_num } => format!("writes ticket_num = {ticket_num}"),
            Event::SoldOut { .. } => "sold out: no ticket left".to_string(),
            Event::LockReleased => "releases the lock".to_string(),
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

pub fn seconds(us: u64) -> String {
    format!("{:.3}s", us as f64 / 1e6)
}

pub fn millis(us: u64) -> String {
    format!("{} ms", us / 1_000)
}
