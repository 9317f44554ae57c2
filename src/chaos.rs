//! Fault injection (`--chaos`): which buyers are SIGKILLed, and when. The plan is drawn from
//! the run's seed, so a run that breaks an invariant can be replayed exactly.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use crate::clock;
use crate::purchase::Step;
use crate::settings::{DelayRange, PerBuyer};

/// Keeps the chaos stream independent of the delay streams drawn from the same seed.
const CHAOS_SALT: u64 = 0xC4A0_5EED_0BAD_F00D;

/// Every step at which a buyer can be made to die.
const STEPS: [Step; 6] = [
    Step::BeforeLock,
    Step::LockHeld,
    Step::OrderLogged,
    Step::TempWritten,
    Step::DataWritten,
    Step::Released,
];

/// How a victim dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "at", rename_all = "snake_case")]
pub enum Kill {
    /// The buyer SIGKILLs itself on reaching `step` in attempt number `attempt`: this hits the
    /// narrow windows (between log and data file, between temp file and rename) every time.
    Step { step: Step, attempt: u64 },
    /// The launcher SIGKILLs the buyer this long after the starting gun, wherever it is.
    Time { after_us: u64 },
}

/// One planned death.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Victim {
    pub buyer: u32,
    pub kill: Kill,
}

/// About one buyer in three dies; half of them at a chosen step, half at a random moment
/// within the time the race is expected to take.
pub fn plan(seed: u64, buyers: u32, per_buyer: PerBuyer, delay: DelayRange) -> Vec<Victim> {
    let mut rng = StdRng::seed_from_u64(seed ^ CHAOS_SALT);
    let attempts = match per_buyer {
        PerBuyer::Count(k) => k.min(3),
        PerBuyer::All => 3,
    };
    // Each purchase costs its delay plus about a millisecond of process and file work.
    let horizon_us = (delay.lo_ms + delay.hi_ms) * 500 * u64::from(buyers) / 2 + 3_000;
    (1..=buyers)
        .filter_map(|buyer| {
            if !rng.random_bool(1.0 / 3.0) {
                return None;
            }
            let kill = if rng.random_bool(0.5) {
                Kill::Step {
                    step: STEPS[rng.random_range(0..STEPS.len())],
                    attempt: rng.random_range(1..=attempts),
                }
            } else {
                Kill::Time {
                    after_us: rng.random_range(0..=horizon_us),
                }
            };
            Some(Victim { buyer, kill })
        })
        .collect()
}

/// The step a buyer should die at, if the plan says so.
pub fn step_for(victims: &[Victim], buyer: u32) -> Option<(Step, u64)> {
    victims.iter().find_map(|v| match v.kill {
        Kill::Step { step, attempt } if v.buyer == buyer => Some((step, attempt)),
        _ => None,
    })
}

/// A thread that SIGKILLs buyers at their planned times until it is stopped.
pub struct Killer {
    stop: Sender<()>,
    thread: JoinHandle<Vec<u32>>,
}

impl Killer {
    /// `targets` are (buyer, pid, microseconds after `gun_ns`). The caller must not reap the
    /// children before [`Killer::stop`] returns: an unreaped child keeps its pid, so the kill
    /// can never hit an unrelated process that reused it.
    pub fn start(mut targets: Vec<(u32, u32, u64)>, gun_ns: u64) -> Killer {
        targets.sort_by_key(|&(_, _, after_us)| after_us);
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let mut fired = Vec::new();
            for (buyer, pid, after_us) in targets {
                let now_us = clock::micros_since(gun_ns);
                let wait = Duration::from_micros(after_us.saturating_sub(now_us));
                match stopped.recv_timeout(wait) {
                    Err(RecvTimeoutError::Timeout) => {
                        // SAFETY: kill(2) on a child we have not reaped; see `start`.
                        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                        fired.push(buyer);
                    }
                    _ => break,
                }
            }
            fired
        });
        Killer { stop, thread }
    }

    /// Stops the thread; returns the buyers it sent SIGKILL to.
    pub fn stop(self) -> Vec<u32> {
        let _ = self.stop.send(());
        self.thread.join().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_plans_the_same_deaths() {
        let delay = DelayRange { lo_ms: 0, hi_ms: 2 };
        let a = plan(9, 30, PerBuyer::Count(2), delay);
        assert_eq!(a, plan(9, 30, PerBuyer::Count(2), delay));
        assert_ne!(a, plan(10, 30, PerBuyer::Count(2), delay));
        assert!(
            !a.is_empty() && a.len() < 30,
            "about a third die: {}",
            a.len()
        );
    }

    #[test]
    fn many_seeds_cover_every_step_and_both_kinds_of_kill() {
        let delay = DelayRange { lo_ms: 0, hi_ms: 2 };
        let victims: Vec<Victim> = (0..50)
            .flat_map(|seed| plan(seed, 6, PerBuyer::Count(1), delay))
            .collect();
        for step in STEPS {
            assert!(
                victims
                    .iter()
                    .any(|v| matches!(v.kill, Kill::Step { step: s, .. } if s == step))
            );
        }
        assert!(victims.iter().any(|v| matches!(v.kill, Kill::Time { .. })));
    }
}
