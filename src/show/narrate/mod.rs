//! Live narration. By default it tells the race in phrases: one buyer's steps of one moment on
//! one line ("takes the lock, reads ticket_num = 3, network delay 136 ms ..."), and identical
//! steps taken together said once ("buyers 2–10 wait for the lock, held by buyer-1"), so ten
//! buyers fit on a screen. `--verbose` tells every event on its own line. This file follows
//! the race; `merge` decides which phrases are said together, `clause` and `steps` word them.

mod clause;
mod merge;
mod steps;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use self::clause::Clause;
use self::merge::{HOLD_AT_MOST, HOLD_FOR_TWINS, Phrase};
pub(crate) use self::steps::{change_name, run_files};
use super::words::{buyer, pad, seconds, width, wrap};
use crate::events::{Event, Message};
use crate::lang::tr;
use crate::settings::Settings;

/// How much the narration says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detail {
    /// Phrases per buyer and moment, identical ones merged (the default).
    Phrases,
    /// Every event on its own line, plus each buyer's spawn, start and finish (`--verbose`).
    EveryStep,
    /// Every step a buyer makes on its own line, without spawn, start, finish or pause
    /// (`explore --interactive`, where the person at the keyboard makes each move).
    Steps,
}

/// Turns the events of a race into the lines a person follows as it happens.
pub(crate) struct Narrator {
    detail: Detail,
    /// Lines are wrapped to this many columns.
    width: usize,
    /// Room for the widest buyer name of the run.
    label_width: usize,
    /// How many buyers race: the gun's phrases wait for all of them.
    buyers: u32,
    /// The starting gun on the events' clock: times are told from it, as every view does.
    origin_us: u64,
    /// Which pid is which buyer, so "held by pid 812" can say "buyer-4 (pid 812)".
    buyer_of_pid: HashMap<u32, u32>,
    /// Buyers holding the lock right now, to say whether a killed buyer held it.
    holding: HashSet<u32>,
    /// Buyers whose lock file went away under their lock, until they let go of it.
    lost_lock: HashSet<u32>,
    /// Which buyer first took each order number (the ledger's seq): racing buyers without
    /// the lock claim the same one.
    first_with_seq: HashMap<u64, u32>,
    /// Each buyer's phrase in progress.
    open: BTreeMap<u32, Phrase>,
    /// How many phrases each buyer has finished.
    told_of: HashMap<u32, usize>,
    /// Finished phrases not yet told (held back a moment to be merged with identical ones).
    ready: Vec<Phrase>,
    /// The latest event time seen: phrases that started well before it are complete groups.
    latest_us: u64,
    /// How long an open phrase may hold back the story ([`HOLD_AT_MOST`]).
    hold_at_most: Duration,
    /// How long a finished phrase waits for twins once the pipe is quiet ([`HOLD_FOR_TWINS`]).
    hold_for_twins: Duration,
    /// Where orders go: the order log, or the orders table on a database.
    on_database: bool,
}

impl Narrator {
    pub(crate) fn new(detail: Detail, buyers: u32, width: usize) -> Narrator {
        Narrator {
            detail,
            width,
            label_width: self::width(&buyer(buyers)),
            buyers,
            origin_us: 0,
            buyer_of_pid: HashMap::new(),
            holding: HashSet::new(),
            lost_lock: HashSet::new(),
            first_with_seq: HashMap::new(),
            open: BTreeMap::new(),
            told_of: HashMap::new(),
            ready: Vec::new(),
            latest_us: 0,
            hold_at_most: HOLD_AT_MOST,
            hold_for_twins: HOLD_FOR_TWINS,
            on_database: false,
        }
    }

    /// A narrator for the race `settings` describe.
    pub(crate) fn for_run(detail: Detail, settings: &Settings, width: usize) -> Narrator {
        Narrator {
            on_database: settings.on_database(),
            ..Narrator::new(detail, settings.buyers(), width)
        }
    }

    /// The starting gun fired at `t_us`: the time every line counts from.
    pub(crate) fn gun(&mut self, t_us: u64) {
        self.origin_us = t_us;
    }

    /// The step-by-step words for one event, without its time ("buyer-2 takes the lock after
    /// waiting 136 ms"): the classroom page's narration.
    pub(crate) fn words(&mut self, message: &Message) -> String {
        let was_holding = self.track(message);
        format!(
            "{} {}",
            buyer(message.buyer),
            self.step_words(message, was_holding)
        )
    }

    /// Follows who holds the lock and who took which order number; returns whether
    /// `message`'s buyer held the lock before.
    fn track(&mut self, message: &Message) -> bool {
        self.buyer_of_pid.insert(message.pid, message.buyer);
        if let Event::Ordered { seq, .. } = message.event {
            self.first_with_seq.entry(seq).or_insert(message.buyer);
        }
        let was_holding = self.holding.contains(&message.buyer);
        match message.event {
            Event::LockAcquired { .. } => {
                self.holding.insert(message.buyer);
            }
            Event::LockReleased | Event::Killed { .. } | Event::LockLost { .. } => {
                self.holding.remove(&message.buyer);
            }
            _ => {}
        }
        was_holding
    }

    /// Takes in one event; returns the lines that are ready to be told.
    pub(crate) fn event(&mut self, message: &Message) -> Vec<String> {
        let was_holding = self.track(message);
        let bookkeeping = matches!(
            message.event,
            Event::Spawned
                | Event::Ready
                | Event::Started
                | Event::Finished { .. }
                | Event::Paused { .. }
        );
        match self.detail {
            Detail::Steps if bookkeeping => return Vec::new(),
            Detail::EveryStep | Detail::Steps => {
                let words = self.step_words(message, was_holding);
                return vec![self.line(message.t_us, &buyer(message.buyer), &words)];
            }
            Detail::Phrases => {}
        }
        self.latest_us = self.latest_us.max(message.t_us);
        // A lost lock's line already says the buyer lets go: its release is not said again.
        let released_lost_lock = match message.event {
            Event::LockLost { .. } => {
                self.lost_lock.insert(message.buyer);
                false
            }
            Event::LockReleased => self.lost_lock.remove(&message.buyer),
            _ => false,
        };
        if let Some(clause) = self
            .clause(message, was_holding)
            .filter(|_| !released_lost_lock)
        {
            let locked = was_holding || self.holding.contains(&message.buyer);
            let ordinal = self.told_of.get(&message.buyer).copied().unwrap_or(0);
            let phrase = self
                .open
                .entry(message.buyer)
                .or_insert_with(|| Phrase::new(message.buyer, message.t_us, ordinal));
            phrase.held_lock |= locked;
            let ends = clause.ends_phrase(&phrase.clauses, locked);
            phrase.clauses.push(clause);
            if ends {
                self.close(message.buyer);
            }
        }
        self.tell(false)
    }

    /// Moves `buyer`'s open phrase to the ready ones.
    fn close(&mut self, buyer: u32) {
        if let Some(mut done) = self.open.remove(&buyer) {
            done.finished = Instant::now();
            *self.told_of.entry(buyer).or_default() += 1;
            self.ready.push(done);
        }
    }

    /// The pipe has been quiet a moment: nothing simultaneous is still coming, so tell what
    /// is ready.
    pub(crate) fn quiet(&mut self) -> Vec<String> {
        self.tell(true)
    }

    /// Whether every buyer has finished more than `ordinal` phrases.
    fn all_told(&self, ordinal: usize) -> bool {
        (1..=self.buyers).all(|b| self.told_of.get(&b).is_some_and(|&n| n > ordinal))
    }

    /// The race is over: tell everything left, finished or not.
    pub(crate) fn finish(&mut self) -> Vec<String> {
        let open: Vec<u32> = self.open.keys().copied().collect();
        open.into_iter().for_each(|buyer| self.close(buyer));
        self.hold_for_twins = Duration::ZERO;
        self.hold_at_most = Duration::ZERO;
        self.tell(true)
    }

    /// "  0.140s buyer-2  takes the lock, ...", wrapped to the width under its text.
    fn line(&self, t_us: u64, subject: &str, text: &str) -> String {
        let label_width = self.label_width;
        let time = seconds(t_us.saturating_sub(self.origin_us));
        let head = format!("{time:>7} {} ", pad(subject, label_width));
        let indent = 7 + 1 + label_width + 1;
        wrap(
            &format!("{head}{text}"),
            self.width.max(indent + 20),
            indent,
        )
    }

    /// The clause an event adds to its buyer's phrase, or None for events the phrases leave to
    /// the timeline and `--verbose` (spawn, start, finish).
    fn clause(&self, message: &Message, was_holding: bool) -> Option<Clause> {
        Some(match &message.event {
            Event::Spawned
            | Event::Ready
            | Event::Started
            | Event::Finished { .. }
            | Event::Paused { .. } => {
                return None;
            }
            Event::Relocked { lock_file } => Clause::Relocked(*lock_file),
            Event::LockLost { lock_file } => Clause::LockLost(*lock_file),
            Event::Searched { seen } => Clause::Searched(*seen),
            Event::LockWait { holder } => Clause::Waits(self.who_briefly(*holder, message.buyer)),
            Event::LockAcquired { .. } => Clause::Takes,
            Event::Recovered {
                seq,
                of_buyer,
                after,
                ..
            } => Clause::Recovered {
                seq: *seq,
                of_buyer: *of_buyer,
                after: *after,
            },
            Event::Read { seen } => Clause::Read(*seen),
            Event::Delay { ms } => Clause::Delay(*ms),
            Event::Wrote { ticket_num } => Clause::Wrote(*ticket_num),
            Event::Ordered { seq, .. } => Clause::Bought {
                seq: *seq,
                again: self.again_of(*seq, message.buyer).is_some(),
            },
            Event::SoldOut { .. } => Clause::SoldOut,
            Event::LockReleased => Clause::Released,
            Event::LockTimedOut { holder } => {
                Clause::GivesUp(self.who_briefly(*holder, message.buyer))
            }
            Event::Retried { seen } => Clause::Refused(*seen),
            Event::Killed { step, .. } => Clause::Killed {
                step: *step,
                holding: was_holding,
            },
            Event::Failed { message, .. } => Clause::Failed(message.clone()),
        })
    }

    /// The buyer that logged order number `seq` first, if it was not `buyer`.
    fn again_of(&self, seq: u64, buyer: u32) -> Option<u32> {
        self.first_with_seq
            .get(&seq)
            .copied()
            .filter(|&first| first != buyer)
    }

    /// Who holds the lock `waiter` waits for: "buyer-4", "pid 812" for a process that is not
    /// a buyer of this run, or None when nobody can say (the holder had not written its pid
    /// yet, and no buyer of this run is known to hold it).
    fn who_briefly(&self, holder: Option<u32>, waiter: u32) -> Option<String> {
        match holder {
            Some(pid) => Some(match self.buyer_of_pid.get(&pid) {
                Some(b) => buyer(*b),
                None => tr!("pid", pid = pid),
            }),
            None => self.sole_holder(waiter).map(buyer),
        }
    }

    /// The one buyer of this run holding the lock now, other than `waiter`, if exactly one is.
    fn sole_holder(&self, waiter: u32) -> Option<u32> {
        let mut others = self.holding.iter().filter(|&&b| b != waiter);
        match (others.next(), others.next()) {
            (Some(&only), None) => Some(only),
            _ => None,
        }
    }

    /// "buyer-4 (pid 812)", "pid 812", or None when the holder is not known.
    fn who(&self, holder: Option<u32>, waiter: u32) -> Option<String> {
        match holder {
            Some(pid) => Some(match self.buyer_of_pid.get(&pid) {
                Some(b) => tr!("buyer-with-pid", who = buyer(*b), pid = pid),
                None => tr!("pid", pid = pid),
            }),
            None => self.sole_holder(waiter).map(buyer),
        }
    }
}
