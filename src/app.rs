//! One run, start to end: check and set the stock, launch the race, settle and reconcile, show
//! the result, and choose the exit status.

use std::os::unix::process::ExitStatusExt as _;

use crate::events::Message;
use crate::exit::{Error, Exit, Result};
use crate::race::{chaos, interrupt, launcher};
use crate::report::{self, Ledger, Status};
use crate::settings::{Output, Settings};
use crate::shop::directory;
use crate::shop::ledger::{self, LockWait};
use crate::shop::lock::holder_name;
use crate::show::{json, narrate, progress, text, timeline, trace};

pub fn run(settings: Settings) -> Result<Exit> {
    interrupt::install();
    // The user's data path is resolved once, following their symbolic link: the buyers are
    // given the result, so every process works on the one real file, with its lock file and
    // order log beside it. A FIFO, a device or a socket is refused here, before any open.
    let settings = Settings {
        data: directory::resolve_data_path(&settings.data)?,
        ..settings
    };
    // The trace file is created first so a bad --trace path fails before the stock changes.
    let trace_file = settings
        .trace
        .as_deref()
        .map(trace::TraceFile::create)
        .transpose()?;
    let forget_trace = || {
        if let Some(path) = &settings.trace {
            let _ = std::fs::remove_file(path);
        }
    };
    let shop = ledger::open_checked(&settings.data, settings.durability)
        .inspect_err(|_| forget_trace())?;
    let lock_path = shop.lock.path().to_path_buf();
    let on_wait = |holder: Option<u32>| {
        eprintln!(
            "grab-tickets: waiting for the lock on {}, held by {}",
            lock_path.display(),
            holder_name(holder)
        );
    };
    let launcher_relocks = std::cell::Cell::new(0);
    let on_relock = |change| {
        eprintln!(
            "grab-tickets: the lock file {} was {}; locked the new one",
            lock_path.display(),
            narrate::change_name(change)
        );
        launcher_relocks.set(launcher_relocks.get() + 1);
    };
    let wait = LockWait {
        timeout: settings.lock_timeout,
        on_wait: &on_wait,
        on_relock: &on_relock,
    };
    let run = format!("{:016x}", rand::random::<u64>());
    let start =
        ledger::restock(&shop, settings.restock, &run, &wait).inspect_err(|_| forget_trace())?;

    let mut narrator = narrate::Narrator::new(settings.output == Output::Verbose);
    let narrating = matches!(settings.output, Output::Text | Output::Verbose);
    let mut progress = progress::Progress::for_run(&settings);
    if settings.output != Output::Json {
        println!("{}", text::headline(&settings));
    }
    let victims = chaos::choose_victims(&settings);
    let launch = launcher::Start {
        settings: &settings,
        run: &run,
        first_seq: start.seq,
        victims: &victims,
    };
    let raced = launcher::launch(&launch, &mut |message: &Message| {
        progress.observe(message);
        if narrating && let Some(line) = narrator.line(message) {
            progress.println(&line);
        }
    });
    progress.finish();
    let raced = raced?;

    let interrupted = interrupt::interrupted();
    let entries = shop.log.entries_of_run(&run)?;
    let after = ledger::settle_after_race(&shop, settings.scope, &run, &wait)?;
    let killed: Vec<u32> = raced
        .reaped
        .iter()
        .filter(|r| r.status.signal().is_some())
        .map(|r| r.pid)
        .collect();
    ledger::remove_temp_files_of(&settings.data, &killed);
    let victim_reports = chaos::report_victims(&victims, &raced.reaped, &raced.fired);
    let result = report::reconcile(
        raced,
        Ledger {
            run,
            initial: start.tickets,
            remaining: after.remaining,
            entries: &entries,
            recovered_by_launcher: after.recovered,
            launcher_relocks: launcher_relocks.get(),
        },
        victim_reports,
        interrupted,
    );

    if narrating {
        let picture = timeline::render(&result.events, &timeline::Canvas::for_stdout());
        println!("\n{}", picture.join("\n"));
    }
    match settings.output {
        Output::Json => println!("{}", json::report(&settings, &result)),
        Output::Text | Output::Verbose | Output::Quiet => {
            print!("{}", text::report(&settings, &result));
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
    if settings.check && result.tally.status() != Status::Ok {
        return Ok(Exit::CheckFailed);
    }
    Ok(Exit::Success)
}
