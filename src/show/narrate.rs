//! Live narration. By default it tells the race in phrases: one buyer's steps of one moment on
//! one line ("takes the lock, reads ticket_num = 3, network delay 136 ms ..."), and identical
//! steps taken together said once ("buyers 2–10 wait for the lock, held by buyer-1"), so ten
//! buyers fit on a screen. `--verbose` tells every event on its own line.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use super::text::{buyer_set, millis, plural, seconds, wrap};
use crate::events::{Event, LockFileChange, Message, Outcome};
use crate::settings::{Settings, Step};
use crate::shop::lock::lock_path_for;
use crate::shop::orders::log_path_for;

/// Identical phrases that start within this much of each other (one after another) are said
/// together: to a person they happen at once.
const TOGETHER_US: u64 = 5_000;
/// The buyers' first two phrases answer the one starting gun (search, then wait or read), but
/// a busy machine can wake them tens of milliseconds apart: they are held until every buyer
/// has said its own (or [`HOLD_AT_MOST`] passed), and said together if they start within this
/// much of each other.
const GUN_TOGETHER_US: u64 = 1_000_000;
/// Phrases of the starting gun: a buyer's first two (its search, then its wait or its read).
const GUN_PHRASES: usize = 2;
/// How long a finished phrase waits for identical ones once the pipe is quiet.
const HOLD_FOR_TWINS: Duration = Duration::from_millis(30);
/// A merged line whose phrases spread over this much or more says so: "(within 12 ms)".
const SPREAD_SHOWN_US: u64 = 10_000;
/// A phrase still open this long (its buyer went silent: killed by an interrupt, say) is told
/// as far as it got, so it cannot hold back the rest of the story.
const HOLD_AT_MOST: Duration = Duration::from_millis(250);

/// How much the narration says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Phrases per buyer and moment, identical ones merged (the default).
    Phrases,
    /// Every event on its own line, plus each buyer's spawn, start and finish (`--verbose`).
    EveryStep,
    /// Every step a buyer makes on its own line, without spawn, start, finish or pause
    /// (`explore --interactive`, where the person at the keyboard makes each move).
    Steps,
}

/// Turns the events of a race into the lines a person follows as it happens.
pub struct Narrator {
    detail: Detail,
    /// Lines are wrapped to this many columns.
    width: usize,
    /// Room for the widest "buyer-N" of the run.
    label_width: usize,
    /// How many buyers race: the gun's phrases wait for all of them.
    buyers: u32,
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
    /// Where orders go: "the log", or "the orders table" on a database.
    ledger: &'static str,
}

/// One buyer's steps of one moment.
#[derive(Debug, Clone)]
struct Phrase {
    buyer: u32,
    start_us: u64,
    clauses: Vec<Clause>,
    /// When it began, and when it was finished (wall clock).
    opened: Instant,
    finished: Instant,
    /// How many phrases of this buyer came before it.
    ordinal: usize,
}

impl Phrase {
    /// How far apart this phrase and an identical one may start and still be said together.
    fn together_us(&self) -> u64 {
        if self.ordinal < GUN_PHRASES {
            GUN_TOGETHER_US
        } else {
            TOGETHER_US
        }
    }
}

/// One step, as the narration says it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Clause {
    Searched(u64),
    Waits(String),
    Takes,
    /// The lock file was gone or replaced when the lock came; the buyer locked the new one.
    Relocked(LockFileChange),
    /// The lock file went away under the lock: nothing written, the purchase starts again.
    LockLost(LockFileChange),
    Recovered {
        seq: u64,
        of_buyer: u32,
        after: u64,
    },
    Read(u64),
    Delay(u64),
    Wrote(u64),
    /// `again_of`: the buyer that logged this order number first, when it was another.
    Bought {
        seq: u64,
        again_of: Option<u32>,
    },
    SoldOut,
    Released,
    GivesUp(String),
    /// `--serializable`: the database refused the purchase, which starts again.
    Refused(u64),
    Killed {
        step: Step,
        holding: bool,
    },
    Failed(String),
}

impl Clause {
    /// Whether the phrase ends with this step, given the phrase so far: something long begins
    /// (a delay, a wait), or the buyer's turn is over.
    fn ends_phrase(&self, before: &[Clause], holding: bool) -> bool {
        match self {
            Clause::Searched(_)
            | Clause::Waits(_)
            | Clause::Relocked(_)
            | Clause::LockLost(_)
            | Clause::Delay(_)
            | Clause::Bought { .. }
            | Clause::GivesUp(_)
            | Clause::Refused(_)
            | Clause::Killed { .. }
            | Clause::Failed(_) => true,
            // After a write the sale is confirmed (flushed) just after the unlock: wait for it.
            Clause::Released => !before.iter().any(|c| matches!(c, Clause::Wrote(_))),
            // Holding the lock, a sold-out buyer still has to let go of it.
            Clause::SoldOut => !holding,
            _ => false,
        }
    }

    /// What makes two phrases say the same thing (delays of different length still merge).
    fn key(&self) -> Clause {
        match self {
            Clause::Delay(_) => Clause::Delay(0),
            other => other.clone(),
        }
    }

    /// The words, for one buyer (`many` false) or several at once. `delays` are every merged
    /// buyer's delay at this step, for a range.
    fn words(&self, many: bool, delays: &[u64]) -> String {
        let verb = |one: &str, several: &str| if many { several } else { one }.to_string();
        match self {
            Clause::Searched(seen) => {
                let left = format!("{} left", plural(*seen, "ticket"));
                if many {
                    format!("search: all see {left}")
                } else {
                    format!("searches: sees {left}")
                }
            }
            Clause::Waits(holder) => {
                format!("{} for the lock, held by {holder}", verb("waits", "wait"))
            }
            Clause::Takes => format!("{} the lock", verb("takes", "take")),
            // Rare and worth every word: said as --verbose says them.
            Clause::Relocked(change) => relocked_words(*change),
            Clause::LockLost(change) => lock_lost_words(*change),
            Clause::Recovered {
                seq,
                of_buyer,
                after,
            } => format!(
                "{} order #{seq} of buyer-{of_buyer}, who died after logging it: \
                 ticket_num = {after}",
                verb("finishes", "finish")
            ),
            Clause::Read(seen) => format!("{} ticket_num = {seen}", verb("reads", "read")),
            Clause::Delay(ms) => {
                let lo = delays.iter().min().copied().unwrap_or(*ms);
                let hi = delays.iter().max().copied().unwrap_or(*ms);
                if lo == hi {
                    format!("network delay {lo} ms ...")
                } else {
                    format!("network delays {lo}–{hi} ms ...")
                }
            }
            Clause::Wrote(n) => format!("{} ticket_num = {n}", verb("writes", "write")),
            Clause::Bought { seq, again_of } => {
                let each = if many { "each " } else { "" };
                match again_of {
                    // Short: "again" says the number was taken (the --verbose line says by whom).
                    Some(_) => format!("{each}BOUGHT, order #{seq} again"),
                    None => format!("{each}BOUGHT, order #{seq}"),
                }
            }
            Clause::SoldOut => format!("{} no ticket left: sold out", verb("finds", "find")),
            Clause::Released => format!("{} the lock", verb("releases", "release")),
            Clause::GivesUp(holder) => format!(
                "{} waiting for the lock (--lock-timeout), still held by {holder}",
                verb("gives up", "give up")
            ),
            Clause::Refused(seen) => retried_words(*seen),
            Clause::Killed { step, holding } => killed_words(*step, None, *holding),
            Clause::Failed(message) => format!("FAILED: {message}"),
        }
    }
}

/// "KILLED at order_logged while holding the lock — the kernel frees it".
/// "KILLED at order_logged (fault injection) while holding the lock — the kernel frees it";
/// step by step, the attempt is named too ("at order_logged of attempt 2").
fn killed_words(step: Step, attempt: Option<u64>, holding: bool) -> String {
    let of_attempt = attempt.map_or(String::new(), |a| format!(" of attempt {a}"));
    let mut words = format!("KILLED at {step}{of_attempt} (fault injection)");
    if holding {
        words.push_str(" while holding the lock — the kernel frees it");
    }
    words
}

impl Narrator {
    pub fn new(detail: Detail, buyers: u32, width: usize) -> Narrator {
        Narrator {
            detail,
            width,
            label_width: format!("buyer-{buyers}").len(),
            buyers,
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
            ledger: "the log",
        }
    }

    /// Narrates a race on the database store, whose ledger is the orders table.
    pub fn on_database(self) -> Narrator {
        Narrator {
            ledger: "the orders table",
            ..self
        }
    }

    /// The step-by-step words for one event, without its time or buyer ("takes the lock after
    /// waiting 136 ms"): the classroom page's narration.
    pub fn words(&mut self, message: &Message) -> String {
        let was_holding = self.track(message);
        format!(
            "buyer-{} {}",
            message.buyer,
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
            Event::LockReleased | Event::Killed { .. } => {
                self.holding.remove(&message.buyer);
            }
            _ => {}
        }
        was_holding
    }

    /// Takes in one event; returns the lines that are ready to be told.
    pub fn event(&mut self, message: &Message) -> Vec<String> {
        let was_holding = self.track(message);
        let bookkeeping = matches!(
            message.event,
            Event::Spawned | Event::Started | Event::Finished { .. } | Event::Paused { .. }
        );
        match self.detail {
            Detail::Steps if bookkeeping => return Vec::new(),
            Detail::EveryStep | Detail::Steps => {
                let words = self.step_words(message, was_holding);
                let who = format!("buyer-{}", message.buyer);
                return vec![self.line(message.t_us, &who, &words)];
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
            let phrase = self.open.entry(message.buyer).or_insert_with(|| Phrase {
                buyer: message.buyer,
                start_us: message.t_us,
                clauses: Vec::new(),
                opened: Instant::now(),
                finished: Instant::now(),
                ordinal,
            });
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
    pub fn quiet(&mut self) -> Vec<String> {
        self.tell(true)
    }

    /// Whether every buyer has finished more than `ordinal` phrases.
    fn all_told(&self, ordinal: usize) -> bool {
        (1..=self.buyers).all(|b| self.told_of.get(&b).is_some_and(|&n| n > ordinal))
    }

    /// The race is over: tell everything left, finished or not.
    pub fn finish(&mut self) -> Vec<String> {
        let open: Vec<u32> = self.open.keys().copied().collect();
        open.into_iter().for_each(|buyer| self.close(buyer));
        self.hold_for_twins = Duration::ZERO;
        self.hold_at_most = Duration::ZERO;
        self.tell(true)
    }

    /// Tells the ready phrases, oldest first, merging identical ones that happened together.
    /// A phrase waits while an earlier one is still open (so lines stay in time order) and,
    /// unless the pipe is quiet, until the events have moved past it (so its twins can join).
    fn tell(&mut self, quiet: bool) -> Vec<String> {
        let stale: Vec<u32> = self
            .open
            .values()
            .filter(|p| p.opened.elapsed() >= self.hold_at_most)
            .map(|p| p.buyer)
            .collect();
        for buyer in stale {
            self.close(buyer);
        }
        self.ready.sort_by_key(|p| p.start_us);
        let barrier = self.open.values().map(|p| p.start_us).min();
        let mut lines = Vec::new();
        while let Some(first) = self.ready.first() {
            let blocked = barrier.is_some_and(|b| b < first.start_us);
            let settled = if first.ordinal < GUN_PHRASES {
                self.all_told(first.ordinal) || first.finished.elapsed() >= self.hold_at_most
            } else {
                self.latest_us > first.start_us + first.together_us()
                    || (quiet && first.finished.elapsed() >= self.hold_for_twins)
            };
            if blocked || !settled {
                break;
            }
            // Its twins: identical phrases, each starting close enough after the one before.
            let key: Vec<Clause> = first.clauses.iter().map(Clause::key).collect();
            let window = first.together_us();
            let mut twins = vec![0];
            let mut last_start = first.start_us;
            let mut twin_still_held = false;
            for (i, candidate) in self.ready.iter().enumerate().skip(1) {
                if candidate.start_us > last_start + window {
                    break;
                }
                if candidate
                    .clauses
                    .iter()
                    .map(Clause::key)
                    .eq(key.iter().cloned())
                {
                    if barrier.is_some_and(|b| b < candidate.start_us) {
                        twin_still_held = true;
                    } else {
                        twins.push(i);
                        last_start = candidate.start_us;
                    }
                }
            }
            // A twin behind a phrase still open joins once that phrase ends, unless waiting
            // has gone on too long.
            if twin_still_held && first.finished.elapsed() < self.hold_at_most {
                break;
            }
            // Removed from the back, so the indices still to remove stay valid.
            let mut group: Vec<Phrase> = twins
                .into_iter()
                .rev()
                .map(|i| self.ready.remove(i))
                .collect();
            group.reverse();
            lines.push(self.group_line(&group));
        }
        lines
    }

    /// One line for phrases that say the same thing: "buyers 2–10 wait for the lock, ...".
    fn group_line(&self, group: &[Phrase]) -> String {
        let many = group.len() > 1;
        let buyers: Vec<u32> = group.iter().map(|p| p.buyer).collect();
        let subject = buyer_set(&buyers);
        let clauses = &group[0].clauses;
        let mut text = String::new();
        for (i, clause) in clauses.iter().enumerate() {
            let delays: Vec<u64> = group
                .iter()
                .filter_map(|p| match p.clauses.get(i) {
                    Some(Clause::Delay(ms)) => Some(*ms),
                    _ => None,
                })
                .collect();
            if i > 0 {
                text.push_str(if matches!(clause, Clause::Bought { .. }) {
                    "; "
                } else {
                    ", "
                });
            }
            text.push_str(&clause.words(many, &delays));
        }
        let spread = group.iter().map(|p| p.start_us).max().unwrap_or(0) - group[0].start_us;
        if spread >= SPREAD_SHOWN_US {
            text.push_str(&format!(" (within {})", millis(spread)));
        }
        self.line(group[0].start_us, &subject, &text)
    }

    /// "  0.140s buyer-2  takes the lock, ...", wrapped to the width under its text.
    fn line(&self, t_us: u64, subject: &str, text: &str) -> String {
        let label_width = self.label_width;
        let head = format!("{:>7} {subject:<label_width$} ", seconds(t_us));
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
            Event::Spawned | Event::Started | Event::Finished { .. } | Event::Paused { .. } => {
                return None;
            }
            Event::Relocked { lock_file } => Clause::Relocked(*lock_file),
            Event::LockLost { lock_file } => Clause::LockLost(*lock_file),
            Event::Searched { seen } => Clause::Searched(*seen),
            Event::LockWait { holder } => Clause::Waits(self.who_briefly(*holder)),
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
                again_of: self.again_of(*seq, message.buyer),
            },
            Event::SoldOut { .. } => Clause::SoldOut,
            Event::LockReleased => Clause::Released,
            Event::LockTimedOut { holder } => Clause::GivesUp(self.who_briefly(*holder)),
            Event::Retried { seen } => Clause::Refused(*seen),
            Event::Killed { step, .. } => Clause::Killed {
                step: *step,
                holding: was_holding,
            },
            Event::Failed { message, .. } => Clause::Failed(message.clone()),
        })
    }

    /// `--verbose`: the words for one event.
    fn step_words(&self, message: &Message, was_holding: bool) -> String {
        match &message.event {
            Event::Spawned => format!("(pid {}) spawned", message.pid),
            Event::Started => "hears the starting gun".to_string(),
            Event::Paused { before } => {
                format!("pauses before its next move: {}", before.describe())
            }
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
            Event::Relocked { lock_file } => relocked_words(*lock_file),
            Event::LockLost { lock_file } => lock_lost_words(*lock_file),
            Event::Read { seen } => format!("reads ticket_num = {seen}"),
            Event::Delay { ms } => format!("network delay {ms} ms ..."),
            Event::Ordered { seq, before, after } => {
                let order = match self.again_of(*seq, message.buyer) {
                    None => format!("order #{seq} is in {}", self.ledger),
                    Some(first) => format!(
                        "order #{seq} again: buyer-{first} logged that number too, both deciding \
                         from the same stale count"
                    ),
                };
                format!("BOUGHT a ticket, confirmed: {before} -> {after} ({order})")
            }
            Event::Wrote { ticket_num } => format!("writes ticket_num = {ticket_num}"),
            Event::SoldOut { .. } => "sold out: no ticket left".to_string(),
            Event::LockReleased => "releases the lock".to_string(),
            Event::Retried { seen } => retried_words(*seen),
            Event::LockTimedOut { holder } => format!(
                "gives up waiting for the lock (--lock-timeout), still held by {}",
                self.who(*holder)
            ),
            Event::Killed { step, attempt } => killed_words(*step, Some(*attempt), was_holding),
            Event::Failed { message, .. } => format!("FAILED: {message}"),
        }
    }

    /// The buyer that logged order number `seq` first, if it was not `buyer`.
    fn again_of(&self, seq: u64, buyer: u32) -> Option<u32> {
        self.first_with_seq
            .get(&seq)
            .copied()
            .filter(|&first| first != buyer)
    }

    /// "buyer-4", or "pid 812" for a process that is not a buyer of this run.
    fn who_briefly(&self, holder: Option<u32>) -> String {
        match holder.map(|pid| (pid, self.buyer_of_pid.get(&pid))) {
            Some((_, Some(buyer))) => format!("buyer-{buyer}"),
            _ => self.who(holder),
        }
    }

    /// "buyer-4 (pid 812)".
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
    let data = settings.data();
    let mut line = format!(
        "run {run}: data {}, lock {}, order log {}",
        data.display(),
        lock_path_for(data).display(),
        log_path_for(data).display()
    );
    if let Some(trace) = settings.trace() {
        line.push_str(&format!(", trace {}", trace.display()));
    }
    if let Some(html) = settings.html() {
        line.push_str(&format!(", page {}", html.display()));
    }
    line
}

fn retried_words(seen: u64) -> String {
    format!(
        "REFUSED by the database: another purchase changed the stock after it read {seen}; \
         nothing was written, it tries again"
    )
}

fn relocked_words(change: LockFileChange) -> String {
    format!(
        "the lock file was {}; locked the new one",
        change_name(change)
    )
}

fn lock_lost_words(change: LockFileChange) -> String {
    format!(
        "the lock file was {} while it held the lock, so the lock no longer kept anyone out: \
         writes nothing, lets go and starts the purchase again",
        change_name(change)
    )
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

    fn at(buyer: u32, t_us: u64, event: Event) -> Message {
        Message::at(buyer, t_us, event)
    }

    /// Feeds `events` to a narrator, a quiet moment after each batch of one millisecond.
    fn told(detail: Detail, events: &[Message]) -> Vec<String> {
        told_in(detail, 80, events)
    }

    /// As `told`, on a screen `width` columns wide.
    fn told_in(detail: Detail, width: usize, events: &[Message]) -> Vec<String> {
        let mut narrator = Narrator::new(detail, 10, width);
        let mut lines: Vec<String> = events.iter().flat_map(|m| narrator.event(m)).collect();
        lines.extend(narrator.finish());
        lines
    }

    fn locked_start() -> Vec<Message> {
        let mut events: Vec<Message> = (1..=10)
            .map(|b| at(b, 4_000 + u64::from(b), Event::Searched { seen: 3 }))
            .collect();
        events.push(at(1, 4_100, Event::LockAcquired { waited_us: 0 }));
        events.push(at(1, 4_110, Event::Read { seen: 3 }));
        events.push(at(1, 4_120, Event::Delay { ms: 136 }));
        events.extend((2..=10).map(|b| {
            at(
                b,
                4_200 + u64::from(b),
                Event::LockWait { holder: Some(101) },
            )
        }));
        events
    }

    #[test]
    fn simultaneous_identical_steps_are_said_once() {
        let lines = told(Detail::Phrases, &locked_start());
        assert_eq!(
            lines,
            [
                " 0.004s buyers 1–10 search: all see 3 tickets left",
                " 0.004s buyer-1  takes the lock, reads ticket_num = 3, network delay 136 ms ...",
                " 0.004s buyers 2–10 wait for the lock, held by buyer-1",
            ]
        );
    }

    #[test]
    fn a_turn_at_the_lock_is_two_lines() {
        let mut events = locked_start();
        events.extend([
            at(1, 140_000, Event::Wrote { ticket_num: 2 }),
            at(1, 140_010, Event::LockReleased),
            at(2, 140_020, Event::LockAcquired { waited_us: 136_000 }),
            at(2, 140_030, Event::Read { seen: 2 }),
            at(2, 140_040, Event::Delay { ms: 242 }),
            at(
                1,
                141_000,
                Event::Ordered {
                    seq: 2,
                    before: 3,
                    after: 2,
                },
            ),
        ]);
        let lines = told(Detail::Phrases, &events);
        assert_eq!(
            lines[3..],
            [
                " 0.140s buyer-1  writes ticket_num = 2, releases the lock; BOUGHT, order #2",
                " 0.140s buyer-2  takes the lock, reads ticket_num = 2, network delay 242 ms ...",
            ]
        );
    }

    #[test]
    fn a_slow_start_is_still_one_line_that_says_how_slow() {
        let events: Vec<Message> = (1..=4)
            .map(|b| at(b, 4_000 + u64::from(b) * 6_000, Event::Searched { seen: 3 }))
            .collect();
        let lines = told(Detail::Phrases, &events);
        assert_eq!(
            lines,
            [" 0.010s buyers 1–4 search: all see 3 tickets left (within 18 ms)"]
        );
    }

    #[test]
    fn steps_far_apart_are_told_apart() {
        let mut events: Vec<Message> = (1..=2)
            .flat_map(|b| {
                [
                    at(b, 1_000, Event::Searched { seen: 3 }),
                    at(b, 1_001, Event::Read { seen: 3 }),
                    at(b, 1_002, Event::Delay { ms: 100 }),
                ]
            })
            .collect();
        events.extend([
            at(1, 100_000, Event::Wrote { ticket_num: 2 }),
            at(
                1,
                100_100,
                Event::Ordered {
                    seq: 5,
                    before: 3,
                    after: 2,
                },
            ),
            at(2, 150_000, Event::Wrote { ticket_num: 2 }),
            at(
                2,
                150_100,
                Event::Ordered {
                    seq: 5,
                    before: 3,
                    after: 2,
                },
            ),
        ]);
        let lines = told(Detail::Phrases, &events);
        assert_eq!(
            lines[2..],
            [
                " 0.100s buyer-1  writes ticket_num = 2; BOUGHT, order #5",
                " 0.150s buyer-2  writes ticket_num = 2; BOUGHT, order #5 again",
            ]
        );
    }

    #[test]
    fn racing_reads_merge_with_their_range_of_delays() {
        let events: Vec<Message> = (1..=4)
            .flat_map(|b| {
                [
                    at(b, 5_000, Event::Read { seen: 3 }),
                    at(
                        b,
                        5_001,
                        Event::Delay {
                            ms: 100 + u64::from(b),
                        },
                    ),
                ]
            })
            .collect();
        let lines = told(Detail::Phrases, &events);
        assert_eq!(
            lines,
            [" 0.005s buyers 1–4 read ticket_num = 3, network delays 101–104 ms ..."]
        );
    }

    #[test]
    fn a_chaos_death_is_told_with_the_lock_it_held() {
        let events = [
            at(7, 1_000, Event::LockAcquired { waited_us: 0 }),
            at(7, 1_001, Event::Read { seen: 2 }),
            at(7, 1_002, Event::Delay { ms: 100 }),
            at(
                7,
                51_000,
                Event::Killed {
                    step: Step::InDelay,
                    attempt: 1,
                },
            ),
            at(8, 51_100, Event::LockAcquired { waited_us: 50_000 }),
        ];
        // Wide enough that nothing wraps: the line is checked whole.
        let lines = told_in(Detail::Phrases, 200, &events);
        assert_eq!(
            lines[1],
            " 0.051s buyer-7  KILLED at in_delay (fault injection) while holding the lock — the \
             kernel frees it",
            "{lines:#?}"
        );
        assert_eq!(lines[2], " 0.051s buyer-8  takes the lock", "{lines:#?}");
    }

    #[test]
    fn every_step_gets_its_own_line_when_verbose() {
        let lines = told(Detail::EveryStep, &locked_start());
        assert_eq!(lines.len(), locked_start().len());
        assert!(lines[0].ends_with("buyer-1  (pid 101) searches: sees 3 tickets left"));
    }

    #[test]
    fn a_silent_buyer_does_not_hold_back_the_others_forever() {
        let mut narrator = Narrator::new(Detail::Phrases, 10, 80);
        narrator.hold_at_most = Duration::from_secs(3600);
        narrator.hold_for_twins = Duration::ZERO;
        // Buyer 1 writes and goes silent (its confirmation never comes).
        assert!(
            narrator
                .event(&at(1, 1_000, Event::Wrote { ticket_num: 2 }))
                .is_empty()
        );
        let mut lines = narrator.event(&at(2, 1_500, Event::Searched { seen: 2 }));
        lines.extend(narrator.quiet());
        assert!(lines.is_empty(), "{lines:?}");
        // Once it has been silent longer than the narrator waits, it is told as far as it got.
        narrator.hold_at_most = Duration::ZERO;
        let lines = narrator.quiet();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].contains("buyer-1  writes ticket_num = 2"));
    }

    fn said(event: Event) -> String {
        Narrator::new(Detail::EveryStep, 2, usize::MAX).event(&Message::at(2, 1_500, event))[0]
            .clone()
    }

    #[test]
    fn a_lost_lock_file_is_told_as_it_happened() {
        assert_eq!(
            said(Event::Relocked {
                lock_file: LockFileChange::Deleted
            }),
            " 0.002s buyer-2 the lock file was deleted; locked the new one"
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

    #[test]
    fn a_lost_lock_file_has_its_phrase_too() {
        let events = [
            at(
                2,
                1_000,
                Event::Relocked {
                    lock_file: LockFileChange::Deleted,
                },
            ),
            at(2, 1_001, Event::LockAcquired { waited_us: 0 }),
            at(2, 1_002, Event::Read { seen: 1 }),
            at(2, 1_003, Event::Delay { ms: 10 }),
            at(
                2,
                11_000,
                Event::LockLost {
                    lock_file: LockFileChange::Deleted,
                },
            ),
            at(2, 11_001, Event::LockReleased),
        ];
        // Wide, so the lines are checked whole.
        let lines = told_in(Detail::Phrases, usize::MAX, &events);
        assert_eq!(
            lines,
            [
                " 0.001s buyer-2  the lock file was deleted; locked the new one".to_string(),
                " 0.001s buyer-2  takes the lock, reads ticket_num = 1, network delay 10 ms ..."
                    .to_string(),
                format!(
                    " 0.011s buyer-2  {}",
                    lock_lost_words(LockFileChange::Deleted)
                ),
            ]
        );
    }
}
