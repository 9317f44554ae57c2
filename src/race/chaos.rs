//! Fault injection (`--chaos`, `--kill-at`): which buyers are SIGKILLed, at which step of
//! which attempt, and what came of each planned death. The plan is drawn from the run's seed
//! and every victim kills itself on reaching its step, so the same seed plans the same deaths
//! at the same points in every run.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use super::Reaped;
use crate::exit::{Error, Result};
use crate::lang::tr;
use crate::settings::{LockScope, Method, PerBuyer, Settings, Step};

/// Keeps the chaos stream independent of the delay streams drawn from the same seed.
const CHAOS_SALT: u64 = 0xC4A0_5EED_0BAD_F00D;
/// The chaos plan's attempt numbers stop here: later attempts are like the third.
const MAX_PLANNED_ATTEMPT: u64 = 3;

/// Where a buyer SIGKILLs itself: on reaching `step` in attempt number `attempt` (1-based).
/// A step, not a moment: a timed kill would land wherever the scheduler had got the buyer to,
/// and no seed could replay it. In JSON: `{"at": "step", "step": ..., "attempt": ...}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "at", rename = "step")]
pub(crate) struct StepDeath {
    pub step: Step,
    pub attempt: u64,
}

/// One planned death.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Victim {
    pub buyer: u32,
    pub kill: StepDeath,
}

/// A planned death and what came of it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct VictimReport {
    pub buyer: u32,
    pub pid: u32,
    pub kill: StepDeath,
    /// False when the buyer never reached its step: it finished first, or found the stock
    /// sold out before a step that comes after the check.
    pub died: bool,
}

/// The steps a purchase passes in this run's store and mode (the file store: all of them). In the database a sale is one statement and the COMMIT
/// that frees the lock, so there is no temp file; without a lock of ours there are no lock
/// steps, and `--atomic` has only "before" and "after" its one statement.
pub(crate) fn steps_passed(settings: &Settings) -> &'static [Step] {
    const DATABASE_LOCKED: &[Step] = &[
        Step::BeforeLock,
        Step::LockHeld,
        Step::InDelay,
        Step::OrderLogged,
        Step::DataWritten,
        Step::Released,
    ];
    // Every mode waits its network delay, so every mode passes `in_delay`.
    const DATABASE_UNLOCKED: &[Step] = &[Step::InDelay, Step::OrderLogged, Step::DataWritten];
    const ATOMIC: &[Step] = &[Step::InDelay, Step::BeforeLock, Step::Released];
    const SERIALIZABLE: &[Step] = &[
        Step::BeforeLock,
        Step::LockHeld,
        Step::InDelay,
        Step::OrderLogged,
        Step::Released,
    ];
    if !settings.on_database() {
        // The file store's plan is drawn from every step, so old seeds replay as they did.
        return &Step::ALL;
    }
    let rules = settings.rules();
    match rules.method {
        Method::Atomic => ATOMIC,
        Method::Serializable => SERIALIZABLE,
        Method::ReadCheckWrite => match rules.scope {
            LockScope::None => DATABASE_UNLOCKED,
            LockScope::Write | LockScope::Whole => DATABASE_LOCKED,
        },
    }
}

/// A `--kill-at` step this run never passes would silently kill nobody: refuse it.
pub(crate) fn check_steps(settings: &Settings) -> Result<()> {
    let passed = steps_passed(settings);
    match settings
        .kill_at()
        .iter()
        .find(|k| !passed.contains(&k.step))
    {
        Some(kill) => {
            let names: Vec<&str> = passed.iter().map(|s| s.name()).collect();
            Err(Error::usage(tr!(
                "error-kill-at-unreached-step",
                kill = format!("{}:{}", kill.buyer, kill.step),
                steps = names.join(", ")
            )))
        }
        None => Ok(()),
    }
}

/// `--kill-at` victims first; `--chaos` adds its own for the buyers not named there.
pub(crate) fn choose_victims(settings: &Settings) -> Vec<Victim> {
    let mut victims: Vec<Victim> = settings
        .kill_at()
        .iter()
        .map(|k| Victim {
            buyer: k.buyer,
            kill: StepDeath {
                step: k.step,
                attempt: k.attempt,
            },
        })
        .collect();
    if settings.chaos() {
        let planned = plan(
            settings.seed().unwrap_or_default(),
            settings.buyers(),
            settings.per_buyer(),
            steps_passed(settings),
        );
        let named: Vec<u32> = victims.iter().map(|v| v.buyer).collect();
        victims.extend(planned.into_iter().filter(|p| !named.contains(&p.buyer)));
    }
    victims
}

/// Which planned deaths happened: a victim that died of SIGKILL reached its step (it kills
/// itself there, and nothing else here sends SIGKILL during a race).
pub(crate) fn report_victims(victims: &[Victim], reaped: &[Reaped]) -> Vec<VictimReport> {
    victims
        .iter()
        .filter_map(|v| {
            let r = reaped.iter().find(|r| r.buyer == v.buyer)?;
            Some(VictimReport {
                buyer: v.buyer,
                pid: r.pid,
                kill: v.kill,
                died: crate::sys::killed_outright(&r.status),
            })
        })
        .collect()
}

/// About one buyer in three dies, each at one of `steps` (the ones this run passes) and an
/// attempt, both drawn from the seed.
pub(crate) fn plan(seed: u64, buyers: u32, per_buyer: PerBuyer, steps: &[Step]) -> Vec<Victim> {
    let mut rng = StdRng::seed_from_u64(seed ^ CHAOS_SALT);
    let attempts = match per_buyer {
        PerBuyer::Count(k) => k.min(MAX_PLANNED_ATTEMPT),
        PerBuyer::All => MAX_PLANNED_ATTEMPT,
    };
    (1..=buyers)
        .filter_map(|buyer| {
            if !rng.random_bool(1.0 / 3.0) {
                return None;
            }
            let kill = StepDeath {
                step: steps[rng.random_range(0..steps.len())],
                attempt: rng.random_range(1..=attempts),
            };
            Some(Victim { buyer, kill })
        })
        .collect()
}

/// The step a buyer should die at, if the plan says so.
pub(crate) fn step_for(victims: &[Victim], buyer: u32) -> Option<StepDeath> {
    victims.iter().find(|v| v.buyer == buyer).map(|v| v.kill)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_plans_the_same_deaths() {
        let a = plan(9, 30, PerBuyer::Count(2), &Step::ALL);
        assert_eq!(a, plan(9, 30, PerBuyer::Count(2), &Step::ALL));
        assert_ne!(a, plan(10, 30, PerBuyer::Count(2), &Step::ALL));
        assert!(
            !a.is_empty() && a.len() < 30,
            "about a third die: {}",
            a.len()
        );
    }

    #[test]
    fn many_seeds_cover_every_step() {
        let victims: Vec<Victim> = (0..50)
            .flat_map(|seed| plan(seed, 6, PerBuyer::Count(1), &Step::ALL))
            .collect();
        for step in Step::ALL {
            assert!(victims.iter().any(|v| v.kill.step == step), "{step}");
        }
        assert!(victims.iter().all(|v| v.kill.attempt == 1));
    }

    #[test]
    fn a_step_death_says_where_in_json() {
        let kill = StepDeath {
            step: Step::InDelay,
            attempt: 2,
        };
        let text = serde_json::to_string(&kill).unwrap();
        assert_eq!(text, r#"{"at":"step","step":"in_delay","attempt":2}"#);
        assert_eq!(serde_json::from_str::<StepDeath>(&text).unwrap(), kill);
    }
}
