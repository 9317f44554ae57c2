//! One run, start to end: check and set the stock, launch the race, settle and reconcile, show
//! the result, and choose the exit status. `explore` runs many races through [`prepare`] and
//! [`race`], the very same steps without the showing.

use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;

use crate::events::Message;
use crate::exit::{Error, Exit, Result};
use crate::race::chaos::{self, Victim};
use crate::race::interrupt;
use crate::race::launcher::{self, Pacing};
use crate::race::stepper::{Conducted, Script};
use crate::report::{self, Ledger, RunResult, Status};
use crate::settings::{Output, Settings};
use crate::shop::file_store::FileStore;
use crate::shop::ledger::{self, LockWait, StartingStock};
use crate::shop::lock::holder_name;
use crate::show::{json, narrate, progress, schedule, text, timeline, trace};

pub fn run(settings: Settings) -> Result<Exit> {
    interrupt::install();
    // The trace file is created first so a bad --trace path fails before the stock changes.
    let trace_file = settings
        .trace
        .as_deref()
        .map(trace::TraceFile::create)
        .transpose()?;
    let forget_trace = |_: &Error| {
        if let Some(path) = &settings.trace {
            let _ = std::fs::remove_file(path);
        }
    };
    let prepared = prepare(&settings).inspect_err(forget_trace)?;

    let mut narrator = narrate::Narrator::new(settings.output == Output::Verbose);
    let narrating = matches!(settings.output, Output::Text | Output::Verbose);
    let mut progress = progress::Progress::for_run(&settings);
    if settings.output != Output::Json {
        println!("{}", text::headline(&settings));
    }
    let victims = chaos::choose_victims(&settings);
    let mut script = settings.schedule.as_ref().map(Script::new);
    let pacing = match &mut script {
        Some(script) => Pacing::Stepped(script),
        None => Pacing::Free,
    };
    let raced = race(
        &settings,
        &prepared,
        &victims,
        pacing,
        &mut |message: &Message| {
            progress.observe(message);
            if narrating && let Some(line) = narrator.line(message) {
                progress.println(&line);
            }
        },
    );
    progress.finish();
    let Raced { result, conducted } = raced?;
    if let Some(script) = &mut script
        && !conducted.as_ref().is_some_and(|c| c.stopped)
    {
        script.end();
    }
    let replayed = match (&settings.schedule, &script, &conducted) {
        (Some(given), Some(script), Some(conducted)) => Some(schedule::Replayed {
            given,
            taken: &conducted.schedule,
            followed: script.followed(),
            misfit: script.misfit.as_ref(),
            stopped: conducted.stopped,
        }),
        _ => None,
    };

    if narrating {
        let picture = timeline::render(&result.events, &timeline::Canvas::for_stdout());
        println!("\n{}", picture.join("\n"));
    }
    match settings.output {
        Output::Json => println!("{}", json::report(&settings, &result, replayed.as_ref())),
        Output::Text | Output::Verbose | Output::Quiet => {
            print!("{}", text::report(&settings, &result));
            if let Some(replayed) = &replayed {
                print!("{}", schedule::lines(&settings, &result, replayed));
            }
        }
    }
    if settings.output == Output::Verbose {
        println!("{}", narrate::run_files(&settings, &result.run));
    }
    if let Some(file) = trace_file {
        file.write(&result.events)?;
    }

    if result.interrupted {
        return Ok(Exit::Interrupted);
    }
    if result.a_buyer_failed() {
        return Err(Error::new(
            Exit::BuyerFailed,
            "a buyer process failed; see the report above",
        ));
    }
    if let Some(misfit) = replayed.as_ref().and_then(|r| r.misfit) {
        return Err(Error::usage(schedule::misfit_error(misfit)));
    }
    if settings.check && result.tally.status() != Status::Ok {
        return Ok(Exit::CheckFailed);
    }
    Ok(Exit::Success)
}

/// The shop set up for one race: its files checked and open, the stock set.
pub struct Prepared {
    shop: FileStore,
    /// The run's id, written into every order it logs.
    run: String,
    start: StartingStock,
}

/// Checks the data file, opens the lock file and the order log, and sets the stock.
pub fn prepare(settings: &Settings) -> Result<Prepared> {
    let shop = ledger::open_checked(&settings.data, settings.durability)?;
    let on_wait = say_waiting(shop.lock.path());
    let wait = LockWait {
        timeout: settings.lock_timeout,
        on_wait: &on_wait,
    };
    let run = format!("{:016x}", rand::random::<u64>());
    let start = ledger::restock(&shop, settings.restock, &run, &wait)?;
    // The opaque waiting message may hold its borrow of the lock's path until dropped.
    drop(on_wait);
    Ok(Prepared { shop, run, start })
}

/// A race that ran and was reconciled.
pub struct Raced {
    pub result: RunResult,
    /// How a stepped race went: the schedule it took.
    pub conducted: Option<Conducted>,
}

/// Launches the race on a prepared shop, settles the stock after it and reconciles. `on_event`
/// hears every buyer event as it arrives.
pub fn race(
    settings: &Settings,
    prepared: &Prepared,
    victims: &[Victim],
    pacing: Pacing,
    on_event: &mut dyn FnMut(&Message),
) -> Result<Raced> {
    let Prepared { shop, run, start } = prepared;
    let launch = launcher::Start {
        settings,
        run,
        first_seq: start.seq,
        victims,
    };
    let mut raced = launcher::launch(&launch, pacing, on_event)?;
    let conducted = raced.conducted.take();

    let interrupted = interrupt::interrupted();
    let entries = shop.log.entries_of_run(run)?;
    let on_wait = say_waiting(shop.lock.path());
    let wait = LockWait {
        timeout: settings.lock_timeout,
        on_wait: &on_wait,
    };
    let after = ledger::settle_after_race(shop, settings.scope, run, &wait)?;
    let killed: Vec<u32> = raced
        .reaped
        .iter()
        .filter(|r| r.status.signal().is_some())
        .map(|r| r.pid)
        .collect();
    ledger::remove_temp_files_of(&settings.data, &killed);
    let victim_reports = chaos::report_victims(victims, &raced.reaped, &raced.fired);
    let result = report::reconcile(
        raced,
        Ledger {
            run: run.clone(),
            initial: start.tickets,
            remaining: after.remaining,
            entries: &entries,
            recovered_by_launcher: after.recovered,
        },
        victim_reports,
        interrupted,
    );
    Ok(Raced { result, conducted })
}

/// What the launcher says when it must wait for the lock (to set or settle the stock).
fn say_waiting(lock_path: &Path) -> impl Fn(Option<u32>) + '_ {
    move |holder| {
        eprintln!(
            "grab-tickets: waiting for the lock on {}, held by {}",
            lock_path.display(),
            holder_name(holder)
        );
    }
}
