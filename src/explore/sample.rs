//! `explore --random N`: schedules drawn at random from a seed, by default with PCT, the
//! probabilistic concurrency testing scheduler of Burckhardt, Kothari, Musuvathi and
//! Nagarakatte (ASPLOS 2010). Each buyer gets a random priority and the highest-priority buyer
//! that can move always moves; at DEPTH - 1 random steps the buyer moving is demoted below
//! everyone. Any race that needs DEPTH - 1 particular preemptions is found with a chance of at
//! least 1 / (buyers x steps^(DEPTH - 1)) per sample, however long the other buyers run, where
//! uniform choice needs a run of lucky draws. `--sampler uniform` draws uniformly, to compare.

use std::collections::HashSet;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{RngExt, SeedableRng};

use super::{Workbench, count, finish, por};
use crate::events::Message;
use crate::exit::{Exit, Result};
use crate::race::interrupt;
use crate::race::stepper::{Chooser, Floor};
use crate::settings::{Exploration, Sampler};
use crate::show::explore::{Sampling, Summary};

/// Keeps the sampler's stream apart from the delay and chaos streams of the same seed.
const SAMPLE_SALT: u64 = 0x9C70_5A3D_1E5C_0DE5;

pub(super) fn run(
    bench: &Workbench,
    exploration: &Exploration,
    samples: u64,
    seed: u64,
    sampler: Sampler,
) -> Result<Exit> {
    let started = Instant::now();
    let mut summary = Summary::new(exploration, &bench.settings);
    summary.sampling = Some(Sampling {
        samples,
        seed,
        sampler,
    });
    // One stream for the whole sample: each schedule's draws follow the previous one's, and
    // the races are deterministic, so the seed replays every schedule.
    let mut rng = StdRng::seed_from_u64(seed ^ SAMPLE_SALT);
    // Every buyer makes at most this many moves, so a schedule has at most buyers x this.
    let steps = exploration.buyers as usize * exploration.scope.moves().len();
    let mut distinct = HashSet::new();
    for _ in 0..samples {
        let trial = match sampler {
            Sampler::Pct { depth } => {
                bench.trial(&mut Pct::draw(&mut rng, exploration.buyers, depth, steps))?
            }
            Sampler::Uniform => bench.trial(&mut Uniform { rng: &mut rng })?,
        };
        if interrupt::interrupted() {
            summary.interrupted = true;
            break;
        }
        distinct.insert(por::normal_form(&trial.schedule.0, exploration.scope));
        count(&mut summary, trial, None)?;
    }
    summary.distinct = Some(distinct.len() as u64);
    summary.took = started.elapsed();
    finish(&summary)
}

/// One PCT schedule: priorities and the steps at which the moving buyer is demoted.
struct Pct {
    /// Priority of buyer N at index N - 1; the highest moves.
    priority: Vec<u32>,
    /// `(step, new priority)`: after step number `step` (1-based), the buyer that made it
    /// drops to `new priority`, below every starting priority.
    demotions: Vec<(usize, u32)>,
}

impl Pct {
    fn draw(rng: &mut StdRng, buyers: u32, depth: u32, steps: usize) -> Pct {
        // Starting priorities depth .. depth + buyers - 1 in random order; demotions go to
        // depth - 1 .. 1, so each demoted buyer ends below every other.
        let mut priority: Vec<u32> = (depth..depth + buyers).collect();
        priority.shuffle(rng);
        let demotions = (1..depth)
            .rev()
            .map(|level| (rng.random_range(1..=steps.max(1)), level))
            .collect();
        Pct {
            priority,
            demotions,
        }
    }
}

impl Chooser for Pct {
    fn choose(&mut self, floor: &Floor, _heard: &[Message]) -> Option<u32> {
        let buyer = floor
            .movable()
            .into_iter()
            .map(|turn| turn.buyer)
            .max_by_key(|&b| self.priority[b as usize - 1])?;
        let step = floor.taken().len() + 1;
        for &(at, level) in &self.demotions {
            if at == step {
                self.priority[buyer as usize - 1] = level;
            }
        }
        Some(buyer)
    }
}

/// Any buyer that can move, each equally likely.
struct Uniform<'a> {
    rng: &'a mut StdRng,
}

impl Chooser for Uniform<'_> {
    fn choose(&mut self, floor: &Floor, _heard: &[Message]) -> Option<u32> {
        floor.movable().choose(self.rng).map(|turn| turn.buyer)
    }
}
