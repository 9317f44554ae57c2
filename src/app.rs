//! One run, start to end: check and set the stock, launch the race, settle and reconcile, show
//! the result, and choose the exit status.

use std::os::unix::process::ExitStatusExt as _;

use crate::exit::{Error, Exit, Result};
use crate::race::pipe::Tick;
use crate::race::{chaos, interrupt, launcher};
use crate::report::{self, Ledger, Status};
use crate::settings::{Output, Settings};
use crate::shop::ledger::{self, LockWait};
use crate::shop::lock::holder_name;
use crate::show::{html, json, narrate, progress, text, timeline, trace};

pub fn run(settings: Settings) -> Result<Exit> {
    interrupt::install();
    // The output files are created first so a bad --trace or --html path fails before the
    // stock changes.
    let forget_trace = || {
        for path in [&settings.trace, &settings.html].into_iter().flatten() {
            let _ = std::fs::remove_file(path);
        }
    };
    let trace_file = settings
        .trace
        .as_deref()
        .map(trace::TraceFile::create)
        .transpose()?;
    let page_file = settings
        .html
        .as_deref()
        .map(html::PageFile::create)
        .transpose()
        .inspect_err(|_| forget_trace())?;
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
    let wait = LockWait {
        timeout: settings.lock_timeout,
        on_wait: &on_wait,
    };
    let run = format!("{:016x}", rand::random::<u64>());
    let start =
        ledger::restock(&shop, settings.restock, &run, &wait).inspect_err(|_| forget_trace())?;

    let canvas = timeline::Canvas::for_stdout();
    let detail = match settings.output {
        Output::Verbose => narrate::Detail::EveryStep,
        _ => narrate::Detail::Phrases,
    };
    let mut narrator = narrate::Narrator::new(detail, settings.buyers, canvas.text_width);
    let narrating = matches!(settings.output, Output::Text | Output::Verbose);
    let mut progress = progress::Progress::for_run(&settings);
    if narrating {
        println!("{}", text::headline(&settings));
    }
    let victims = chaos::choose_victims(&settings);
    let launch = launcher::Start {
        settings: &settings,
        run: &run,
        first_seq: start.seq,
        victims: &victims,
    };
    let raced = launcher::launch(&launch, &mut |tick: Tick| {
        let lines = match tick {
            Tick::Event(message) => {
                progress.observe(message);
                narrator.event(message)
            }
            Tick::Quiet => narrator.quiet(),
        };
        if narrating {
            lines.iter().for_each(|line| progress.println(line));
        }
    });
    if narrating {
        narrator
            .finish()
            .iter()
            .for_each(|line| progress.println(line));
    }
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
    let victim_reports = chaos::report_victims(&victims, &raced.reaped);
    let result = report::reconcile(
        raced,
        Ledger {
            run,
            initial: start.tickets,
            remaining: after.remaining,
            entries: &entries,
            recovered_by_launcher: after.recovered,
        },
        victim_reports,
        interrupted,
    );

    if narrating {
        let picture = timeline::render(&result.events, &result.buyers, &canvas);
        println!("\n{}", picture.join("\n"));
    }
    match settings.output {
        Output::Json => println!("{}", json::report(&settings, &result)),
        Output::Text | Output::Verbose | Output::Quiet => {
            print!("{}", text::report(&settings, &result, canvas.text_width));
        }
    }
    if settings.output == Output::Verbose {
        println!("{}", narrate::run_files(&settings, &result.run));
    }
    if let Some(file) = trace_file {
        file.write(&result.events)?;
    }
    if let Some(file) = page_file {
        file.write(&settings, &result)?;
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
