//! What `explore` shows: the summary of the schedules it ran (its facts and `--json` here,
//! its text in `summary`), and the board, lessons and prompts of `--interactive` (`board`).

pub(crate) mod board;
mod summary;

use std::time::Duration;

use serde::Serialize;

use super::cause;
use super::schedule::replay_command;
use super::story::Story;
use super::text::verdict;
use super::words::{Store, move_name};
use crate::lang::{Lang, speaking, tr};
use crate::report::{RunResult, Sale, Status};
use crate::settings::{Exploration, LockScope, Move, Sampler, Schedule, Settings};

/// The JSON document's version: raised when a field changes meaning or goes away.
const FORMAT: u32 = 1;

/// What the schedules of one `explore` came to.
pub(crate) struct Summary<'a> {
    pub exploration: &'a Exploration,
    /// The settings of every race it ran (on the copy of the data file).
    pub settings: &'a Settings,
    /// `--random`: how the schedules were drawn.
    pub sampling: Option<Sampling>,
    /// Every schedule run to its end, in the order run.
    pub runs: Vec<Counted>,
    /// Every schedule: every interleaving of the buyers' moves, by how it ended. Each run
    /// stands for all the interleavings that differ from it only by moves that commute.
    pub interleavings: Option<Counts>,
    /// `--random`: how many different races the samples were.
    pub distinct: Option<u64>,
    /// Runs stopped part-way because every move left would only reorder a schedule that is
    /// run elsewhere (the search cannot know that before it gets there).
    pub dead_ends: u64,
    /// The schedules run to their end, by how they ended.
    pub schedules: Counts,
    pub first_bad: Option<FirstBad>,
    pub took: Duration,
    pub interrupted: bool,
}

/// How many races (schedules run, or the interleavings they stand for) ended each way.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Counts {
    pub total: u64,
    pub bad: u64,
    pub oversold: u64,
    pub lost_updates: u64,
    pub ok: u64,
    /// Counts that do not reconcile: never expected, shown if it happens.
    pub mismatch: u64,
}

impl Counts {
    /// Counts `n` races that ended with `status`.
    pub(crate) fn add(&mut self, status: Status, n: u64) {
        let slot = match status {
            Status::Ok => &mut self.ok,
            Status::Oversold => &mut self.oversold,
            Status::LostUpdates => &mut self.lost_updates,
            // Explore stops at a run it cannot settle; unknown never counts as fine.
            Status::Mismatch
            | Status::StockUnknown
            | Status::ProtocolViolation
            | Status::ChangedOutside => &mut self.mismatch,
        };
        *slot = slot.saturating_add(n);
        self.total = self.total.saturating_add(n);
        if status != Status::Ok {
            self.bad = self.bad.saturating_add(n);
        }
    }

    /// The share that went wrong, as people write it: "60", "87.5", "33.3".
    pub(crate) fn bad_percent(&self) -> String {
        let share = 100.0 * self.bad as f64 / self.total.max(1) as f64;
        let text = format!("{share:.1}");
        text.strip_suffix(".0").unwrap_or(&text).to_string()
    }
}

/// How `--random` drew its schedules.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Sampling {
    pub samples: u64,
    pub seed: u64,
    pub sampler: Sampler,
}

/// One schedule run to its end.
pub(crate) struct Counted {
    pub schedule: Schedule,
    pub status: Status,
    /// How many orders of the moves it stands for (every schedule only).
    pub orders: Option<u64>,
}

/// The first schedule that oversold or lost an update, with its whole race.
pub(crate) struct FirstBad {
    /// The race's facts, worked out once for the text and the JSON.
    pub story: Story,
    /// 1-based, in the order run.
    pub index: usize,
    pub schedule: Schedule,
    pub result: RunResult,
}

impl<'a> Summary<'a> {
    pub(crate) fn new(exploration: &'a Exploration, settings: &'a Settings) -> Summary<'a> {
        Summary {
            exploration,
            settings,
            sampling: None,
            runs: Vec::new(),
            interleavings: None,
            distinct: None,
            dead_ends: 0,
            schedules: Counts::default(),
            first_bad: None,
            took: Duration::ZERO,
            interrupted: false,
        }
    }

    fn skipped(&self) -> Option<u64> {
        self.interleavings
            .map(|all| all.total.saturating_sub(self.runs.len() as u64))
    }

    fn replay(&self, schedule: &Schedule) -> String {
        let e = self.exploration;
        replay_command(&e.data, e.buyers, e.tickets, e.scope, schedule)
    }

    /// The `--json` document.
    pub(crate) fn json(&self) -> String {
        // Its lines stay in English whatever `--lang` says: scripts read one document.
        speaking(Lang::En, || self.json_document())
    }

    fn json_document(&self) -> String {
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
            moves: machine_legend(e.scope),
            schedules: self.runs.len() as u64,
            skipped: self.skipped(),
            orders: self.interleavings.map(|all| all.total),
            interleavings: self.interleavings,
            // Every schedule runs one schedule per class of interleavings: the distinct
            // schedules the text names are the runs.
            distinct: self
                .distinct
                .or(self.interleavings.map(|_| self.runs.len() as u64)),
            dead_ends: self.dead_ends,
            oversold: self.schedules.oversold,
            lost_updates: self.schedules.lost_updates,
            ok: self.schedules.ok,
            mismatch: self.schedules.mismatch,
            bad: self.schedules.bad,
            first_bad: self.first_bad.as_ref().map(|bad| JsonFirstBad {
                index: bad.index,
                schedule: bad.schedule.to_string(),
                replay: self.replay(&bad.schedule),
                status: bad.result.tally.status(),
                verdict: verdict(
                    &bad.result.tally,
                    &bad.result.buyers,
                    Store::of(self.settings),
                ),
                cause: cause::why(self.settings, &bad.result, &bad.story),
                tickets: bad.story.tickets.clone(),
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
    /// The same as `interleavings.total`, kept for scripts written before it.
    orders: Option<u64>,
    /// Every schedule only: every order of the moves (not just the distinct ones run).
    interleavings: Option<Counts>,
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

/// "s search, r read, w write": the letters of the moves under `scope`, in a buyer's order.
fn legend(scope: LockScope) -> String {
    scope
        .moves()
        .iter()
        .map(|mv| {
            tr!(
                "move-letter",
                letter = mv.letter().to_string(),
                name = move_name(*mv)
            )
        })
        .collect::<Vec<_>>()
        .join(&tr!("list-separator"))
}

/// The same letters for `--json`, whose values stay in one language whatever `--lang` says.
fn machine_legend(scope: LockScope) -> String {
    scope
        .moves()
        .iter()
        .map(|mv| {
            let name = match mv {
                Move::Search => "search",
                Move::Lock => "lock",
                Move::Read => "read",
                Move::Write => "write",
                Move::Unlock => "unlock",
            };
            format!("{} {name}", mv.letter())
        })
        .collect::<Vec<_>>()
        .join(", ")
}
