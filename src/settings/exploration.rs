//! The settings of `grab-tickets explore`: how many buyers, how much stock, which lock, and
//! how the schedules are picked.

use std::path::PathBuf;

use serde::Serialize;

use super::values::{Durability, LockScope};

/// How `explore` picks the schedules it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Search {
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
    /// `--power-cut`: one real race recorded, then every crash state its file operations
    /// allow under each of `models`, each recovered by the next run and checked.
    PowerCut { models: Vec<Persistence> },
}

/// What a power cut may leave on disk of the writes that were not synced yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Persistence {
    /// Any unsynced write lost, kept, torn at a sector boundary or zero-filled where the
    /// size grew; directory entries only after the directory's fsync, in any order before it.
    Weak,
    /// ext4's default (data=ordered): metadata in one journal, in order, committed by any
    /// fsync; a file's data lost only whole, never torn or as zeros.
    Ordered,
}

/// How `explore --random` draws each schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Sampler {
    /// PCT (probabilistic concurrency testing): random buyer priorities, the moving buyer
    /// demoted at `depth - 1` random steps.
    Pct { depth: u32 },
    /// Every buyer that can move is equally likely to, at every step.
    Uniform,
}

/// `grab-tickets explore`, resolved from the command line.
#[derive(Debug, Clone)]
pub(crate) struct Exploration {
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
