//! One run, start to end: check and set the stock, launch the race, settle and reconcile, show
//! the result, and choose the exit status.

use std::os::unix::process::ExitStatusExt as _;

use crate::events::Message;
use crate::exit::{Error, Exit, Result};
use crate::race::{chaos, interrupt, launcher};
use crate::report::{self, Ledger, Status};
use crate::settings::{Output, Settings};
use crate::shop::keeper::Keeper;
use crate::shop::ledger::LockWait;
use crate::shop::lock::holder_name;
use crate::show::{json, narrate, progress, text, timeline, trace};

pub fn run(settings: Settings) -> Result<Exit> {
    interrupt::install();
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
    chaos::check_steps(&settings).inspect_err(|_| forget_trace())?;
    let mut shop = Keeper::open(&settings).inspect_err(|_| forget_trace())?;
    let lock_name = shop.lock_name();
    let on_wait = |holder: Option<u32>| {
        eprintln!(
            "grab-tickets: waiting for the lock on {lock_name}, held by {}",
            holder_name(holder)
        );
    };
    let wait = LockWait {
        timeout: settings.lock_timeout,
        on_wait: &on_wait,
    };
    let run = format!("{:016x}", rand::random::<u64>());
    let start = shop
        .restock(&settings, &run, &wait)
        .inspect_err(|_| forget_trace())?;

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
        password: shop.password(),
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
    let killed: Vec<u32> = raced
        .reaped
        .iter()
        .filter(|r| r.status.signal().is_some())
        .map(|r| r.pid)
        .collect();
    let books = shop.close_books(&settings, &run, &wait, &killed)?;
    let victim_reports = chaos::report_victims(&victims, &raced.reaped, &raced.fired);
    let result = report::reconcile(
        raced,
        Ledger {
            run,
            initial: start.tickets,
            remaining: books.remaining,
            entries: &books.ours,
            recovered_by_launcher: books.recovered,
            others: &books.others,
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
