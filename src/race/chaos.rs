//! Fault injection (`--chaos`, `--kill-at`): which buyers are SIGKILLed, and when, and what
//! came of each planned death. The plan is drawn from the run's seed, so a run that breaks an
//! invariant can be replayed exactly.

use std::os::unix::process::ExitStatusExt as _;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rustix::process::{Pid, Signal, kill_process};
use serde::Serialize;

use super::Reaped;
use super::clock;
use crate::exit::{Error, Result};
use crate::settings::{DelayRange, LockScope, Method, PerBuyer, Settings, Step};

/// Keeps the chaos stream independent of the delay streams drawn from the same seed.
const CHAOS_SALT: u64 = 0xC4A0_5EED_0BAD_F00D;
/// The chaos plan's attempt numbers stop here: later attempts are like the third.
const MAX_PLANNED_ATTEMPT: u64 = 3;

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

/// A planned chaos death and what came of it.
#[derive(Debug, Clone, Serialize)]
pub struct VictimReport {
    pub buyer: u32,
    pub pid: u32,
    pub kill: Kill,
    /// False when the buyer finished before its moment came.
    pub died: bool,
}

/// The steps a purchase passes in this run's store and mode (the file store: all of them). In the database a sale is one statement and the COMMIT
/// that frees the lock, so there is no temp file; without a lock of ours there are no lock
/// steps, and `--atomic` has only "before" and "after" its one statement.
pub fn steps_passed(settings: &Settings) -> &'static [Step] {
    const DATABASE_LOCKED: &[Step] = &[
        Step::BeforeLock,
        Step::LockHeld,
        Step::OrderLogged,
        Step::DataWritten,
        Step::Released,
    ];
    const DATABASE_UNLOCKED: &[Step] = &[Step::OrderLogged, Step::DataWritten];
    const ATOMIC: &[Step] = &[Step::BeforeLock, Step::Released];
    const SERIALIZABLE: &[Step] = &[
        Step::BeforeLock,
        Step::LockHeld,
        Step::OrderLogged,
        Step::Released,
    ];
    match (settings.on_database(), settings.method, settings.scope) {
        // The file store's plan is drawn from every step, so old seeds replay as they did.
        (false, _, _) => &Step::ALL,
        (true, Method::Atomic, _) => ATOMIC,
        (true, Method::Serializable, _) => SERIALIZABLE,
        (true, Method::ReadCheckWrite, LockScope::None) => DATABASE_UNLOCKED,
        (true, Method::ReadCheckWrite, _) => DATABASE_LOCKED,
    }
}

/// A `--kill-at` step this run never passes would silently kill nobody: refuse it.
pub fn check_steps(settings: &Settings) -> Result<()> {
    let passed = steps_passed(settings);
    match settings.kill_at.iter().find(|k| !passed.contains(&k.step)) {
        Some(kill) => {
            let names: Vec<&str> = passed.iter().map(|s| s.name()).collect();
            Err(Error::usage(format!(
                "--kill-at {}:{} names a step this run never reaches; with these settings a \
                 purchase passes {}",
                kill.buyer,
                kill.step,
                names.join(", ")
            )))
        }
        None => Ok(()),
    }
}

/// `--kill-at` victims first; `--chaos` adds its own for the buyers not named there.
pub fn choose_victims(settings: &Settings) -> Vec<Victim> {
    let mut victims: Vec<Victim> = settings
        .kill_at
        .iter()
        .map(|k| Victim {
            buyer: k.buyer,
            kill: Kill::Step {
                step: k.step,
                attempt: k.attempt,
            },
        })
        .collect();
    if settings.chaos {
        let planned = plan(
            settings.seed,
            settings.buyers,
            settings.per_buyer,
            settings.delay,
            steps_passed(settings),
        );
        let named: Vec<u32> = victims.iter().map(|v| v.buyer).collect();
        victims.extend(planned.into_iter().filter(|p| !named.contains(&p.buyer)));
    }
    victims
}

/// Which planned deaths happened: a step kill by its SIGKILL, a timed kill only if the killer
/// fired it (a buyer can also die of SIGKILL for other reasons).
pub fn report_victims(victims: &[Victim], reaped: &[Reaped], fired: &[u32]) -> Vec<VictimReport> {
    victims
        .iter()
        .filter_map(|v| {
            let r = reaped.iter().find(|r| r.buyer == v.buyer)?;
            let killed = r.status.signal() == Some(libc::SIGKILL);
            let died = match v.kill {
                Kill::Step { .. } => killed,
                Kill::Time { .. } => killed && fired.contains(&v.buyer),
            };
            Some(VictimReport {
                buyer: v.buyer,
                pid: r.pid,
                kill: v.kill,
                died,
            })
        })
        .collect()
}

/// About one buyer in three dies; half of them at a chosen step, half at a random moment
/// within the time the race is expected to take.
pub fn plan(
    seed: u64,
    buyers: u32,
    per_buyer: PerBuyer,
    delay: DelayRange,
    steps: &[Step],
) -> Vec<Victim> {
    let mut rng = StdRng::seed_from_u64(seed ^ CHAOS_SALT);
    let attempts = match per_buyer {
        PerBuyer::Count(k) => k.min(MAX_PLANNED_ATTEMPT),
        PerBuyer::All => MAX_PLANNED_ATTEMPT,
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
                    step: steps[rng.random_range(0..steps.len())],
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
pub fn step_for(victims: &[Victim], buyer: u32) -> Option<StepDeath> {
    victims.iter().find_map(|v| match v.kill {
        Kill::Step { step, attempt } if v.buyer == buyer => Some(StepDeath { step, attempt }),
        _ => None,
    })
}

/// Where a buyer is told to SIGKILL itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StepDeath {
    pub step: Step,
    pub attempt: u64,
}

/// A buyer the killer thread SIGKILLs `after_us` after the starting gun.
#[derive(Debug, Clone, Copy)]
pub struct TimedKill {
    pub buyer: u32,
    pub pid: u32,
    pub after_us: u64,
}

/// The timed deaths of `victims`, with the pids they have in this race.
pub fn timed_kills(victims: &[Victim], pid_of: impl Fn(u32) -> Option<u32>) -> Vec<TimedKill> {
    victims
        .iter()
        .filter_map(|v| match v.kill {
            Kill::Time { after_us } => pid_of(v.buyer).map(|pid| TimedKill {
                buyer: v.buyer,
                pid,
                after_us,
            }),
            Kill::Step { .. } => None,
        })
        .collect()
}

/// A thread that SIGKILLs buyers at their planned times until it is stopped.
pub struct Killer {
    stop: Sender<()>,
    thread: JoinHandle<Vec<u32>>,
}

impl Killer {
    /// Kills each target its time after `gun_ns`. The caller must not reap the children
    /// before [`Killer::stop`] returns: an unreaped child keeps its pid, so the kill can never
    /// hit an unrelated process that reused it.
    pub fn start(mut targets: Vec<TimedKill>, gun_ns: u64) -> Killer {
        targets.sort_by_key(|t| t.after_us);
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let mut fired = Vec::new();
            for target in targets {
                let now_us = clock::micros_since(gun_ns);
                let wait = Duration::from_micros(target.after_us.saturating_sub(now_us));
                match stopped.recv_timeout(wait) {
                    Err(RecvTimeoutError::Timeout) => {
                        if let Some(pid) = Pid::from_raw(target.pid as i32) {
                            let _ = kill_process(pid, Signal::KILL);
                        }
                        fired.push(target.buyer);
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
        let a = plan(9, 30, PerBuyer::Count(2), delay, &Step::ALL);
        assert_eq!(a, plan(9, 30, PerBuyer::Count(2), delay, &Step::ALL));
        assert_ne!(a, plan(10, 30, PerBuyer::Count(2), delay, &Step::ALL));
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
            .flat_map(|seed| plan(seed, 6, PerBuyer::Count(1), delay, &Step::ALL))
            .collect();
        for step in Step::ALL {
            assert!(
                victims
                    .iter()
                    .any(|v| matches!(v.kill, Kill::Step { step: s, .. } if s == step))
            );
        }
        assert!(victims.iter().any(|v| matches!(v.kill, Kill::Time { .. })));
    }
}
