//! `grab-tickets explore`: the launcher becomes the scheduler. Every schedule is a real race
//! (buyer processes, a fresh copy of the data file, the lock, the order log, the usual
//! reconciliation), stepped one move at a time by a chooser: every distinct schedule
//! ([`every`]), a random sample ([`sample`]), or the person at the keyboard ([`interactive`]).

mod every;
mod interactive;
pub(crate) mod por;
mod sample;

use std::path::PathBuf;

use crate::app;
use crate::exit::{Error, Exit, Result};
use crate::lang::tr;
use crate::race::interrupt;
use crate::race::launcher::Pacing;
use crate::race::stepper::Chooser;
use crate::report::{Ending, RunResult, Status};
use crate::settings::{Exploration, Method, Restock, Rules, Schedule, Search, Settings};
use crate::shop::data_file;
use crate::show::explore::{Counted, Counts, FirstBad, Summary};
use crate::show::out;
use crate::show::story::Story;

pub(crate) fn run(exploration: Exploration) -> Result<Exit> {
    interrupt::install();
    if let Search::PowerCut { models } = &exploration.search {
        return crate::powercut::run(&exploration, models);
    }
    let bench = Workbench::new(&exploration)?;
    match exploration.search {
        Search::Every => every::run(&bench, &exploration),
        Search::Random {
            samples,
            seed,
            sampler,
        } => sample::run(&bench, &exploration, samples, seed, sampler),
        Search::Interactive => interactive::run(&bench, &exploration),
        Search::PowerCut { .. } => unreachable!("power cuts are explored above"),
    }
}

/// One stepped race and the schedule it took.
pub(crate) struct Trial {
    pub result: RunResult,
    pub schedule: Schedule,
    /// The chooser (or an interrupt) stopped it before every buyer finished.
    pub stopped: bool,
}

/// A private directory in which every schedule races on a fresh copy of the data file, with
/// fresh lock and order-log files beside it. The original is only read.
pub(crate) struct Workbench {
    dir: PathBuf,
    /// The data file's bytes, or None when there is none yet.
    original: Option<Vec<u8>>,
    /// The settings of every race run here.
    pub settings: Settings,
}

impl Workbench {
    fn new(exploration: &Exploration) -> Result<Workbench> {
        // The usual checks and messages, without creating the sidecars beside the original. A
        // missing file is fine: like a normal run, each race then starts from a new one.
        crate::shop::directory::resolve_data_path(&exploration.data)?;
        let original = if data_file::is_missing(&exploration.data) {
            None
        } else {
            data_file::read(&data_file::DataFile::open(&exploration.data)?)?;
            let bytes = std::fs::read(&exploration.data)
                .map_err(|e| Error::io("read data file", &exploration.data, &e))?;
            Some(bytes)
        };
        // On a memory filesystem where there is one: a race's syncs on a disk cost more than
        // the rest of it (every schedule of 3 buyers, write-only lock: 6 s on ext4, 1 s on
        // tmpfs, docs/performance.md), and these copies are thrown away.
        let dir = crate::sys::scratch_dir().join(format!(
            "grab-tickets-explore-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir(&dir).map_err(|e| Error::io("create directory", &dir, &e))?;
        let rules = Rules {
            scope: exploration.scope,
            method: Method::ReadCheckWrite,
            durability: exploration.durability,
            lock_timeout_ms: None,
        };
        // No delay (the scheduler decides when each buyer moves on; a delay would only slow
        // it), one ticket each, only the report: `Settings::new`'s defaults.
        let settings = Settings::new(
            dir.join("race").join("data.json"),
            exploration.buyers,
            Restock::To(exploration.tickets),
            rules,
        );
        Ok(Workbench {
            dir,
            original,
            settings,
        })
    }

    /// Runs one race from scratch, `chooser` picking every move: new buyer processes, and a
    /// new directory holding a copy of the data file and nothing else.
    pub(crate) fn trial(&self, chooser: &mut dyn Chooser) -> Result<Trial> {
        let race_dir = self
            .settings
            .data()
            .parent()
            .expect("the data file is in the race dir");
        match std::fs::remove_dir_all(race_dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io("remove", race_dir, &e));
            }
            _ => {}
        }
        std::fs::create_dir(race_dir).map_err(|e| Error::io("create directory", race_dir, &e))?;
        let data = self.settings.data();
        if let Some(original) = &self.original {
            std::fs::write(data, original).map_err(|e| Error::io("write", data, &e))?;
        }
        let raced = app::race_and_reconcile(
            &self.settings,
            &[],
            Pacing::Stepped(chooser),
            &mut || {},
            &mut |_| {},
        )?;
        if let Some(e) = raced.settle_error {
            return Err(e);
        }
        let (schedule, stopped) = match raced.conducted {
            Some(conducted) => (conducted.schedule, conducted.stopped),
            // An interrupt during spawning: the race never started.
            None => (Schedule::default(), true),
        };
        Ok(Trial {
            result: raced.result,
            schedule,
            stopped,
        })
    }
}

impl Drop for Workbench {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Adds one finished trial to the summary, or fails if a buyer did: a race whose buyer broke
/// down says nothing about the schedule.
fn count(summary: &mut Summary, trial: Trial, orders: Option<u64>) -> Result<()> {
    if trial.result.a_buyer_failed() {
        let why = trial
            .result
            .buyers
            .iter()
            .find_map(|b| match &b.ending {
                Ending::Finished => None,
                Ending::Failed { message, .. } => Some(tr!(
                    "schedule-buyer-failed",
                    who = tr!("buyer", n = b.buyer),
                    message = message
                )),
                other => Some(tr!(
                    "schedule-buyer-ended",
                    who = tr!("buyer", n = b.buyer),
                    how = format!("{other:?}")
                )),
            })
            .unwrap_or_else(|| tr!("schedule-protocol-broken"));
        return Err(Error::buyer(tr!(
            "error-schedule-failed",
            schedule = trial.schedule.to_string(),
            why = why
        )));
    }
    let status = trial.result.tally.status();
    summary.schedules.add(status, 1);
    if let Some(orders) = orders {
        summary
            .interleavings
            .get_or_insert_with(Counts::default)
            .add(status, orders);
    }
    summary.runs.push(Counted {
        schedule: trial.schedule.clone(),
        status,
        orders,
    });
    if status != Status::Ok && summary.first_bad.is_none() {
        summary.first_bad = Some(FirstBad {
            story: Story::of(&trial.result),
            index: summary.runs.len(),
            schedule: trial.schedule,
            result: trial.result,
        });
    }
    Ok(())
}

/// Prints the summary and picks the exit status.
fn finish(summary: &Summary) -> Result<Exit> {
    if summary.exploration.json {
        out::line(&summary.json());
    } else {
        out::print(&summary.text());
    }
    if let Some(kind) = out::failure() {
        return Err(Error::environment(tr!(
            "error-summary-to-stdout",
            error = std::io::Error::from(kind).to_string()
        )));
    }
    Ok(if summary.interrupted {
        Exit::Interrupted
    } else {
        Exit::Success
    })
}
