//! Which phrases are said together. Identical phrases that start close together are one
//! line ("buyers 2–10 wait for the lock"); a phrase in which a buyer held the lock can only
//! have happened in turn, and its line says so: a lock is never held by two.

use std::time::{Duration, Instant};

use super::Narrator;
use super::clause::Clause;
use crate::lang::tr;
use crate::show::words::{buyer_set, millis};

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
pub(super) const HOLD_FOR_TWINS: Duration = Duration::from_millis(30);
/// A merged line whose phrases spread over this much or more says so: "(within 12 ms)".
const SPREAD_SHOWN_US: u64 = 10_000;
/// A phrase still open this long (its buyer went silent: killed by an interrupt, say) is told
/// as far as it got, so it cannot hold back the rest of the story.
pub(super) const HOLD_AT_MOST: Duration = Duration::from_millis(250);

/// One buyer's steps of one moment.
#[derive(Debug, Clone)]
pub(super) struct Phrase {
    pub(super) buyer: u32,
    pub(super) start_us: u64,
    pub(super) clauses: Vec<Clause>,
    /// The buyer held the lock during some step of it.
    pub(super) held_lock: bool,
    /// When it began, and when it was finished (wall clock).
    pub(super) opened: Instant,
    pub(super) finished: Instant,
    /// How many phrases of this buyer came before it.
    pub(super) ordinal: usize,
}

impl Phrase {
    pub(super) fn new(buyer: u32, start_us: u64, ordinal: usize) -> Phrase {
        Phrase {
            buyer,
            start_us,
            clauses: Vec::new(),
            held_lock: false,
            opened: Instant::now(),
            finished: Instant::now(),
            ordinal,
        }
    }

    /// How far apart this phrase and an identical one may start and still be said together.
    fn together_us(&self) -> u64 {
        if self.ordinal < GUN_PHRASES {
            GUN_TOGETHER_US
        } else {
            TOGETHER_US
        }
    }

    fn says_the_same_as(&self, other: &Phrase) -> bool {
        self.clauses
            .iter()
            .map(Clause::key)
            .eq(other.clauses.iter().map(Clause::key))
    }
}

impl Narrator {
    /// Tells the ready phrases, oldest first, merging identical ones that happened together.
    /// A phrase waits while an earlier one is still open (so lines stay in time order) and,
    /// unless the pipe is quiet, until the events have moved past it (so its twins can join).
    pub(super) fn tell(&mut self, quiet: bool) -> Vec<String> {
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
        let mut lines = Vec::new();
        while let Some(first) = self.ready.first() {
            let barrier = self.open.values().map(|p| p.start_us).min();
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
            let Some(twins) = self.twins(barrier) else {
                break;
            };
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

    /// The first ready phrase and its twins (identical phrases of other buyers, each starting
    /// close enough after the one before), by index; None while a twin is still held behind
    /// an open phrase and has not waited too long.
    fn twins(&self, barrier: Option<u64>) -> Option<Vec<usize>> {
        let first = self.ready.first()?;
        let window = first.together_us();
        let mut twins = vec![0];
        let mut buyers = vec![first.buyer];
        let mut passed_over = Vec::new();
        let mut last_start = first.start_us;
        let mut twin_still_held = false;
        for (i, candidate) in self.ready.iter().enumerate().skip(1) {
            if candidate.start_us > last_start + window {
                break;
            }
            // One buyer's two phrases are two moments, never one line; and a buyer whose
            // earlier phrase is told after this line cannot join it, or its steps would be
            // told out of order ("buyers 2 and 10 in turn: take the lock", then "buyer-2
            // waits for the lock").
            if buyers.contains(&candidate.buyer) || passed_over.contains(&candidate.buyer) {
                continue;
            }
            if !candidate.says_the_same_as(first) {
                passed_over.push(candidate.buyer);
                continue;
            }
            if barrier.is_some_and(|b| b < candidate.start_us) {
                twin_still_held = true;
            } else {
                twins.push(i);
                buyers.push(candidate.buyer);
                last_start = candidate.start_us;
            }
        }
        if twin_still_held && first.finished.elapsed() < self.hold_at_most {
            return None;
        }
        Some(twins)
    }

    /// One line for phrases that say the same thing: "buyers 2–10 wait for the lock, ...".
    fn group_line(&self, group: &[Phrase]) -> String {
        let many = group.len() > 1;
        let buyers: Vec<u32> = group.iter().map(|p| p.buyer).collect();
        let subject = buyer_set(&buyers);
        let clauses = &group[0].clauses;
        let mut text = String::new();
        // Each of them held the lock, so they did this one after another.
        if many && group.iter().any(|p| p.held_lock) {
            text.push_str(&tr!("say-in-turn"));
        }
        for (i, clause) in clauses.iter().enumerate() {
            let delays: Vec<u64> = group
                .iter()
                .filter_map(|p| match p.clauses.get(i) {
                    Some(Clause::Delay(ms)) => Some(*ms),
                    _ => None,
                })
                .collect();
            if i > 0 {
                text.push_str(&if clause.stands_apart() {
                    tr!("say-then-sale")
                } else {
                    tr!("say-then")
                });
            }
            text.push_str(&clause.words(many, &delays));
        }
        let spread = group.iter().map(|p| p.start_us).max().unwrap_or(0) - group[0].start_us;
        if spread >= SPREAD_SHOWN_US {
            text.push_str(&tr!("say-within", within = millis(spread)));
        }
        self.line(group[0].start_us, &subject, &text)
    }
}
