//! What `explore` shows: the summary of the schedules it ran (text and `--json`), and the
//! board, lessons and prompts of `--interactive`.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::schedule::{replay_command, tickets_line};
use super::text::{Words, cause, plural, verdict};
use super::timeline;
use crate::events::{Event, Message};
use crate::race::stepper::{Floor, Position, Stuck};
use crate::report::{RunResult, Sale, Status, tickets_sold};
use crate::settings::{Exploration, LockScope, Move, Sampler, Schedule, Settings};

/// The JSON document's version: raised when a field changes meaning or goes away.
const FORMAT: u32 = 1;

/// What the schedules of one `explore` came to.
pub struct Summary<'a> {
    pub exploration: &'a Exploration,
    /// The settings of every race it ran (on the copy of the data file).
    pub settings: &'a Settings,
    /// `--random`: how the schedules were drawn.
    pub sampling: Option<Sampling>,
    /// Every schedule run to its end, in the order run.
    pub runs: Vec<Counted>,
    /// Every schedule: all orders of the moves, the runs and the ones they stand for.
    pub orders: Option<u64>,
    /// `--random`: how many different races the samples were.
    pub distinct: Option<u64>,
    /// Runs stopped part-way because every move left would only reorder a schedule that is
    /// run elsewhere (the search cannot know that before it gets there).
    pub dead_ends: u64,
    pub oversold: u64,
    pub lost_updates: u64,
    pub ok: u64,
    /// Counts that do not reconcile: never expected, shown if it happens.
    pub mismatch: u64,
    pub first_bad: Option<FirstBad>,
    pub took: Duration,
    pub interrupted: bool,
}

/// How `--random` drew its schedules.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sampling {
    pub samples: u64,
    pub seed: u64,
    pub sampler: Sampler,
}

/// One schedule run to its end.
pub struct Counted {
    pub schedule: Schedule,
    pub status: Status,
    /// How many orders of the moves it stands for (every schedule only).
    pub orders: Option<u64>,
}

/// The first schedule that oversold or lost an update, with its whole race.
pub struct FirstBad {
    /// 1-based, in the order run.
    pub index: usize,
    pub schedule: Schedule,
    pub result: RunResult,
}

impl<'a> Summary<'a> {
    pub fn new(exploration: &'a Exploration, settings: &'a Settings) -> Summary<'a> {
        Summary {
            exploration,
            settings,
            sampling: None,
            runs: Vec::new(),
            orders: None,
            distinct: None,
            dead_ends: 0,
            oversold: 0,
            lost_updates: 0,
            ok: 0,
            mismatch: 0,
            first_bad: None,
            took: Duration::ZERO,
            interrupted: false,
        }
    }

    fn bad(&self) -> u64 {
        self.oversold + self.lost_updates + self.mismatch
    }

    fn skipped(&self) -> Option<u64> {
        self.orders
            .map(|orders| orders.saturating_sub(self.runs.len() as u64))
    }

    fn replay(&self, schedule: &Schedule) -> String {
        let e = self.exploration;
        replay_command(&e.data, e.buyers, e.tickets, e.scope, schedule)
    }

    /// The text summary.
    pub fn text(&self) -> String {
        let e = self.exploration;
        let mut out = String::new();
        let race = format!(
            "{} racing for {} ({})",
            plural(u64::from(e.buyers), "buyer"),
            plural(e.tickets, "ticket"),
            lock_words(e.scope)
        );
        match &self.sampling {
            None => {
                let _ = writeln!(out, "Every schedule of {race}.");
            }
            Some(s) => {
                let how = match s.sampler {
                    Sampler::Pct { depth } => format!(
                        "by PCT (random buyer priorities, the moving buyer demoted at {}; \
                         depth {depth}",
                        plural(u64::from(depth - 1), "random step")
                    ),
                    Sampler::Uniform => {
                        "uniformly (any buyer that can move, equally likely".to_string()
                    }
                };
                let _ = writeln!(
                    out,
                    "{} sampled schedules of {race}, drawn {how}; seed {}).",
                    s.samples, s.seed
                );
            }
        }
        let _ = writeln!(
            out,
            "Each one a race of real buyer processes on a fresh copy of {}; moves: {}.\n",
            e.data.display(),
            legend(e.scope)
        );
        let row = |out: &mut String, label: &str, n: u64, note: &str| {
            let line = format!("  {label:<18}{n:>7}  {note}");
            let _ = writeln!(out, "{}", line.trim_end());
        };
        let runs = self.runs.len() as u64;
        match (self.skipped(), self.distinct) {
            (Some(skipped), _) => {
                row(&mut out, "schedules run", runs, "");
                row(
                    &mut out,
                    "skipped",
                    skipped,
                    &format!(
                        "reorderings of moves that cannot affect each other ({} orders in all)",
                        self.orders.unwrap_or(0)
                    ),
                );
            }
            (None, distinct) => {
                row(&mut out, "sampled", runs, "");
                if let Some(distinct) = distinct {
                    row(
                        &mut out,
                        "distinct",
                        distinct,
                        "different races (reorderings of independent moves count once)",
                    );
                }
            }
        }
        if self.dead_ends > 0 {
            row(
                &mut out,
                "dead ends",
                self.dead_ends,
                "runs stopped part-way: every move left only reordered a schedule run elsewhere",
            );
        }
        row(
            &mut out,
            "oversold",
            self.oversold,
            "sold more than the stock (each also lost an update)",
        );
        row(
            &mut out,
            "lost updates only",
            self.lost_updates,
            "not oversold, but a sale the data file forgot",
        );
        if self.mismatch > 0 {
            row(
                &mut out,
                "mismatched",
                self.mismatch,
                "counts that do not reconcile (see --json)",
            );
        }
        row(&mut out, "ended OK", self.ok, "");
        let _ = writeln!(out, "  {:<16}{:>9}", "took", seconds(self.took));

        if let Some(bad) = &self.first_bad {
            let _ = writeln!(
                out,
                "\nFirst bad schedule (#{} of {runs}): {}",
                bad.index, bad.schedule
            );
            let picture = timeline::render(
                &bad.result.events,
                &bad.result.buyers,
                &timeline::Canvas::for_stdout(),
            );
            let _ = writeln!(out, "{}", picture.join("\n"));
            if let Some(why) = cause(self.settings, &bad.result) {
                let _ = writeln!(out, "  Why: {why}");
            }
            let _ = writeln!(
                out,
                "  Tickets: {}",
                tickets_line(&tickets_sold(&bad.result.events), e.buyers)
            );
            let _ = writeln!(
                out,
                "  {}",
                verdict(
                    &bad.result.tally,
                    &bad.result.buyers,
                    Words::for_run(self.settings)
                )
            );
            let _ = writeln!(out, "Replay it: {}", self.replay(&bad.schedule));
        }
        let _ = writeln!(out, "\n{}", self.conclusion());
        out
    }

    /// The last line: how many went wrong, and what that says about the lock.
    fn conclusion(&self) -> String {
        let runs = self.runs.len() as u64;
        let bad = self.bad();
        if self.interrupted {
            return format!(
                "INTERRUPTED after {}, {bad} of them bad; the rest were not run.",
                plural(runs, "schedule")
            );
        }
        let mut line = String::new();
        if bad == 0 {
            let _ = write!(
                line,
                "no schedule went wrong: {}",
                match self.exploration.scope {
                    LockScope::Whole => {
                        "with the lock around the whole purchase no order of the moves can \
                         sell a ticket twice."
                    }
                    _ if self.exploration.tickets >= u64::from(self.exploration.buyers) => {
                        "there are enough tickets for every buyer, so nobody can be overwritten \
                         into overselling; try fewer tickets."
                    }
                    _ => "none of the orders run let two buyers decide on the same count.",
                }
            );
        } else {
            let _ = write!(
                line,
                "{bad} of {runs} {} went wrong ({:.0}%): {}",
                if self.sampling.is_some() {
                    "sampled schedules"
                } else {
                    "schedules"
                },
                100.0 * bad as f64 / runs.max(1) as f64,
                match self.exploration.scope {
                    LockScope::None =>
                        "without a lock, a buyer can decide on a count another \
                                        buyer is about to change.",
                    LockScope::Write =>
                        "the lock around the write does not cover the read, so \
                                         a buyer can still write a stale count.",
                    LockScope::Whole => "this should not happen with the lock; please report it.",
                }
            );
        }
        if let Some(first) = line.get(..1) {
            line.replace_range(..1, &first.to_uppercase());
        }
        line
    }

    /// The `--json` document.
    pub fn json(&self) -> String {
        let e = self.exploration;
        let runs: Vec<JsonRun> = self
            .runs
            .iter()
            .map(|c| JsonRun {
                schedule: c.schedule.to_string(),
                status: c.status,
                orders: c.orders,
            })
            .collect();
        let doc = JsonExplored {
            format: FORMAT,
            search: if self.sampling.is_some() {
                "random"
            } else {
                "every"
            },
            settings: JsonExploreSettings {
                data: e.data.display().to_string(),
                buyers: e.buyers,
                tickets: e.tickets,
                lock_scope: e.scope,
                fsync: e.durability == crate::settings::Durability::Fsync,
                sampling: self.sampling,
            },
            moves: legend(e.scope),
            schedules: self.runs.len() as u64,
            skipped: self.skipped(),
            orders: self.orders,
            distinct: self.distinct,
            dead_ends: self.dead_ends,
            oversold: self.oversold,
            lost_updates: self.lost_updates,
            ok: self.ok,
            mismatch: self.mismatch,
            bad: self.bad(),
            first_bad: self.first_bad.as_ref().map(|bad| JsonFirstBad {
                index: bad.index,
                schedule: bad.schedule.to_string(),
                replay: self.replay(&bad.schedule),
                status: bad.result.tally.status(),
                verdict: verdict(
                    &bad.result.tally,
                    &bad.result.buyers,
                    Words::for_run(self.settings),
                ),
                cause: cause(self.settings, &bad.result),
                tickets: tickets_sold(&bad.result.events),
            }),
            runs,
            took_ms: self.took.as_secs_f64() * 1e3,
            interrupted: self.interrupted,
        };
        serde_json::to_string_pretty(&doc).expect("the summary serializes")
    }
}

#[derive(Serialize)]
struct JsonExplored {
    format: u32,
    search: &'static str,
    settings: JsonExploreSettings,
    moves: String,
    schedules: u64,
    skipped: Option<u64>,
    orders: Option<u64>,
    distinct: Option<u64>,
    dead_ends: u64,
    oversold: u64,
    lost_updates: u64,
    ok: u64,
    mismatch: u64,
    bad: u64,
    first_bad: Option<JsonFirstBad>,
    runs: Vec<JsonRun>,
    took_ms: f64,
    interrupted: bool,
}

#[derive(Serialize)]
struct JsonExploreSettings {
    data: String,
    buyers: u32,
    tickets: u64,
    lock_scope: LockScope,
    fsync: bool,
    /// `--random` only: samples, seed and sampler.
    sampling: Option<Sampling>,
}

#[derive(Serialize)]
struct JsonFirstBad {
    index: usize,
    schedule: String,
    replay: String,
    status: Status,
    verdict: String,
    cause: Option<String>,
    tickets: Vec<Sale>,
}

#[derive(Serialize)]
struct JsonRun {
    schedule: String,
    status: Status,
    orders: Option<u64>,
}

fn lock_words(scope: LockScope) -> &'static str {
    match scope {
        LockScope::None => "NO lock",
        LockScope::Write => "lock around the write only",
        LockScope::Whole => "lock around the whole purchase",
    }
}

/// "s search, r read, w write": the letters of the moves under `scope`, in a buyer's order.
fn legend(scope: LockScope) -> String {
    scope
        .moves()
        .iter()
        .map(|mv| format!("{} {}", mv.letter(), short_name(*mv)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn short_name(mv: Move) -> &'static str {
    match mv {
        Move::Search => "search",
        Move::Lock => "lock",
        Move::Read => "read",
        Move::Write => "write",
        Move::Unlock => "unlock",
    }
}

/// "0.31 s".
fn seconds(took: Duration) -> String {
    format!("{:.2} s", took.as_secs_f64())
}

/// `--interactive`'s opening lines.
pub fn intro(exploration: &Exploration) -> String {
    format!(
        "You are the scheduler: {} race for {} ({}), real processes on a copy of {}.\n\
         Each buyer is paused before its next move; type a buyer's number to let it make that \
         move (h for help, q to quit).\nMoves: {}.",
        plural(u64::from(exploration.buyers), "buyer"),
        plural(exploration.tickets, "ticket"),
        lock_words(exploration.scope),
        exploration.data.display(),
        legend(exploration.scope)
    )
}

/// The state before a move: the data file's count, the lock, and where every buyer is.
pub fn board(floor: &Floor, ticket_num: Option<u64>) -> String {
    let count = match ticket_num {
        Some(n) => format!("ticket_num = {n}"),
        None => "unreadable".to_string(),
    };
    let lock = match (floor.scope(), floor.holder(), floor.waiter()) {
        (LockScope::None, _, _) => "no lock".to_string(),
        (_, None, _) => "the lock is free".to_string(),
        (_, Some(holder), None) => format!("buyer-{holder} holds the lock"),
        (_, Some(holder), Some(waiter)) => {
            format!("buyer-{holder} holds the lock, buyer-{waiter} waits for it")
        }
    };
    let mut out = format!("  data file: {count}; {lock}");
    for buyer in 1..=floor.buyers() {
        let place = match floor.position(buyer) {
            Position::Before(mv) => format!("next {buyer}{}: {}", mv.letter(), mv.describe()),
            Position::Waiting => format!(
                "blocked in flock until buyer-{} unlocks",
                floor.holder().unwrap_or(0)
            ),
            Position::Moving | Position::Done => "done".to_string(),
        };
        let _ = write!(out, "\n  buyer-{buyer:<3} {place}");
    }
    out
}

pub fn prompt(floor: &Floor) -> String {
    format!("Move which buyer? [1-{}] ", floor.buyers())
}

pub fn help(scope: LockScope) -> String {
    let mut out = "Type a buyer's number to let it make the move shown beside it; q stops.\n\
                   A buyer's moves, in order:"
        .to_string();
    for mv in scope.moves() {
        let _ = write!(out, "\n  {}  {}", mv.letter(), mv.describe());
    }
    out.push_str("\nA buyer that reads 0 is sold out and stops.");
    out
}

/// Why the buyer picked cannot move, and with the lock, what that protects.
pub fn cannot_move(floor: &Floor, buyer: u32, stuck: Stuck) -> String {
    let mut line = format!("{}.", capitalised(&stuck.explain(buyer)));
    if matches!(stuck, Stuck::Waiting { .. }) && floor.scope() == LockScope::Whole {
        line.push_str(
            " That is the lock at work: while one buyer is between its read and its write, \
             nobody else can read.",
        );
    }
    line
}

/// After a buyer asked for a lock that another holds.
pub fn wait_lesson(floor: &Floor, buyer: u32) -> String {
    let holder = floor.holder().unwrap_or(0);
    let then = match floor.scope() {
        LockScope::Whole => format!(
            "It cannot read until buyer-{holder} has written and unlocked, so it will see \
             buyer-{holder}'s sale: with the lock around the whole purchase, no order of moves \
             can oversell."
        ),
        _ => format!(
            "But the lock covers only the write: buyer-{buyer} read its count before it asked, \
             so once it gets the lock it writes what it read, even if buyer-{holder} changed it."
        ),
    };
    format!(
        "  buyer-{buyer} asked for the lock, but buyer-{holder} holds it: buyer-{buyer} is now blocked in flock. {then}"
    )
}

/// When the last event in `heard` is a write made on a count another buyer's write had already
/// changed: the oversell (or lost update) it caused, said the moment it happens.
pub fn stale_write(heard: &[Message], tickets: u64) -> Option<String> {
    let (last, before) = heard.split_last()?;
    let Event::Wrote { ticket_num: mine } = last.event else {
        return None;
    };
    let buyer = last.buyer;
    let read_at = before
        .iter()
        .rposition(|m| m.buyer == buyer && matches!(m.event, Event::Read { .. }))?;
    let Event::Read { seen } = before[read_at].event else {
        return None;
    };
    let (other, theirs) = before[read_at..].iter().rev().find_map(|m| match m.event {
        Event::Wrote { ticket_num } if m.buyer != buyer => Some((m.buyer, ticket_num)),
        _ => None,
    })?;
    let sold = heard
        .iter()
        .filter(|m| matches!(m.event, Event::Wrote { .. }))
        .count() as u64;
    Some(if sold > tickets {
        format!(
            "  !! OVERSOLD: buyer-{buyer} just sold a ticket that was already gone. It decided \
             on ticket_num = {seen}, read before buyer-{other} wrote {theirs}: that makes {sold} \
             sales of {}.",
            plural(tickets, "ticket")
        )
    } else {
        format!(
            "  !! LOST UPDATE: buyer-{buyer} wrote {mine} over buyer-{other}'s sale. It decided \
             on ticket_num = {seen}, read before buyer-{other} wrote {theirs}."
        )
    })
}

/// The closing line of an interactive race.
pub fn moral(scope: LockScope, status: Status) -> String {
    match (scope, status) {
        (LockScope::Whole, Status::Ok) => "With the lock around the whole purchase you could not \
             oversell, whatever order you chose."
            .to_string(),
        (_, Status::Ok) => "No oversell this time. Try letting every buyer read before any of \
             them writes."
            .to_string(),
        (_, Status::Oversold | Status::LostUpdates) => "You made the race go wrong: a buyer wrote \
             a count that another buyer's write had already made stale."
            .to_string(),
        (_, Status::Mismatch) => "The counts do not reconcile; see the report above.".to_string(),
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_on_a_count_another_buyer_changed_is_called_out() {
        let heard = [
            Message::at(1, 0, Event::Read { seen: 1 }),
            Message::at(2, 1, Event::Read { seen: 1 }),
            Message::at(1, 2, Event::Wrote { ticket_num: 0 }),
            Message::at(2, 3, Event::Wrote { ticket_num: 0 }),
        ];
        assert_eq!(stale_write(&heard[..3], 1), None);
        let lesson = stale_write(&heard, 1).unwrap();
        assert!(lesson.contains("OVERSOLD: buyer-2"), "{lesson}");
        assert!(lesson.contains("read before buyer-1 wrote 0"), "{lesson}");
        let lost = stale_write(&heard, 2).unwrap();
        assert!(lost.contains("LOST UPDATE"), "{lost}");
    }

    #[test]
    fn the_legend_follows_a_buyers_moves() {
        assert_eq!(legend(LockScope::None), "s search, r read, w write");
        assert_eq!(
            legend(LockScope::Whole),
            "s search, l lock, r read, w write, u unlock"
        );
    }
}
