//! The settings of `grab-tickets explore`: how many buyers, how much stock, which lock, and
//! how the schedules are picked.

use std::path::PathBuf;

use serde::Serialize;

use super::values::{Durability, LockScope};

/// How `explore` picks the schedules it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search {
    /// Every distinct schedule, once (partial-order reduction skips mere reorderings).
    Every,
    /// `--random N --seed S`: N schedules drawn by `sampler` from the seed.
    Random {
        samples: u64,
        seed: u64,
        sampler: Sampler,
    },
    /// `--interactive`: the person at the keyboard picks every move.
    Interactive,
}

/// How `explore --random` draws each schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Sampler {
    /// PCT (probabilistic concurrency testing): random buyer priorities, the moving buyer
    /// demoted at `depth - 1` random steps.
    Pct { depth: u32 },
    /// Every buyer that can move is equally likely to, at every step.
    Uniform,
}

/// `grab-tickets explore`, resolved from the command line.
#[derive(Debug, Clone)]
pub struct Exploration {
    /// The data file copied afresh for every schedule; never written.
    pub data: PathBuf,
    pub buyers: u32,
    pub tickets: u64,
    pub scope: LockScope,
    pub durability: Durability,
    pub search: Search,
    /// One JSON document on stdout instead of text.
    pub json: bool,
}
