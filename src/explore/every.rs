//! Every distinct schedule, once. A depth-first search over the buyers' moves in which every
//! path is a real race run from scratch: the first run takes the first movable buyer at every
//! step; each next run replays the previous one up to its deepest step with an untried buyer
//! left, takes that buyer instead, and goes on. Only schedules in normal form are followed
//! (see `por`), so no two runs are the same race; the orders skipped are counted exactly.

use std::io::IsTerminal as _;
use std::time::Instant;

use super::{Workbench, count, finish, por};
use crate::events::Message;
use crate::exit::{Error, Exit, Result};
use crate::lang::tr;
use crate::race::interrupt;
use crate::race::stepper::{Chooser, Floor};
use crate::settings::{Exploration, LockScope, Turn};
use crate::show::explore::{Counts, Summary};

pub(super) fn run(bench: &Workbench, exploration: &Exploration) -> Result<Exit> {
    let started = Instant::now();
    let mut summary = Summary::new(exploration, &bench.settings);
    summary.interleavings = Some(Counts::default());
    let mut search = DepthFirst {
        scope: exploration.scope,
        path: Vec::new(),
        diverged: None,
    };
    let progress = std::io::stderr().is_terminal() && !exploration.json;
    loop {
        let trial = bench.trial(&mut search)?;
        if let Some(why) = search.diverged.take() {
            return Err(Error::buyer(why));
        }
        if interrupt::interrupted() {
            summary.interrupted = true;
            break;
        }
        if trial.stopped {
            // Every move left would only reorder a schedule that is run elsewhere.
            summary.dead_ends += 1;
        } else {
            let equivalent = por::equivalent_orders(&trial.schedule.0, exploration.scope);
            count(&mut summary, trial, Some(equivalent))?;
        }
        if progress {
            eprint!("\r{}", tr!("explore-progress", n = summary.runs.len()));
        }
        if !search.backtrack() {
            break;
        }
    }
    if progress {
        eprint!("\r{:40}\r", "");
    }
    summary.took = started.elapsed();
    finish(&summary)
}

/// One step of the search: the buyer taken there, and the ones still to try in its place.
struct Node {
    taken: u32,
    untried: Vec<u32>,
    /// Every buyer that could go at this step, to check that a replay comes back to it.
    choices: Vec<u32>,
}

/// The search's chooser: replays `path`, then extends it with the first choice at each step.
struct DepthFirst {
    scope: LockScope,
    path: Vec<Node>,
    /// Set when a replayed step offered other choices than the first time: the race did not
    /// repeat itself, and counting would be wrong.
    diverged: Option<String>,
}

impl DepthFirst {
    /// Moves on to the next schedule: the deepest step with an untried buyer takes it and
    /// everything after that step is forgotten. False when every schedule has been run.
    fn backtrack(&mut self) -> bool {
        while let Some(node) = self.path.last_mut() {
            if !node.untried.is_empty() {
                node.taken = node.untried.remove(0);
                return true;
            }
            self.path.pop();
        }
        false
    }
}

impl Chooser for DepthFirst {
    fn choose(&mut self, floor: &Floor, _heard: &[Message]) -> Option<u32> {
        let taken = floor.taken();
        let choices: Vec<u32> = floor
            .movable()
            .into_iter()
            .filter(|&turn: &Turn| por::keeps_normal_form(taken, turn, self.scope))
            .map(|turn| turn.buyer)
            .collect();
        let step = taken.len();
        if let Some(node) = self.path.get(step) {
            if node.choices != choices {
                self.diverged = Some(format!(
                    "replaying the moves {} did not come back to the same race (buyers \
                     {:?} could move, {:?} the first time); the explorer's counts would be wrong",
                    crate::settings::Schedule(taken.to_vec()),
                    choices,
                    node.choices
                ));
                return None;
            }
            return Some(node.taken);
        }
        let (&first, rest) = choices.split_first()?;
        self.path.push(Node {
            taken: first,
            untried: rest.to_vec(),
            choices: choices.clone(),
        });
        Some(first)
    }
}
