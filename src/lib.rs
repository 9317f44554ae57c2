//! grab-tickets: real OS processes race to buy tickets from one shared JSON file. Without a
//! lock they oversell; with an exclusive file lock around the whole read-check-write every
//! ticket is sold exactly once.
//!
//! # Layout
//! - `cli`       clap types; turned into [`settings::Settings`] before anything runs
//! - `completions` `grab-tickets completions SHELL`: the shell completion scripts
//! - `settings`  the resolved settings and their value types (lock scope, delay range, ...)
//! - `launcher`  sets the stock, spawns buyers, fires the starting gun, collects, reaps
//! - `buyer`     one child process: search, then buy; reports events on the shared pipe
//! - `purchase`  one attempt: read, delay, check, commit, write — where the race lives
//! - `lock`      the guard around the sidecar lock file; the only file that uses fs2
//! - `store`     reads and atomically replaces data.json; knows no locking
//! - `orders`    the append-only order log, the commit point of every sale
//! - `recovery`  brings data.json to the order log's state: a buyer killed mid-sale, a power cut
//! - `chaos`     fault injection: which buyers are SIGKILLed, and when
//! - `interrupt` Ctrl-C / SIGTERM on the launcher: kill the buyers, report what happened
//! - `events`    the pipe protocol: one JSON line per buyer event
//! - `report`    outcomes → reconciliation (oversold, lost updates) → verdict
//! - `narrate`   the live, human-readable account of the race
//! - `progress`  the live progress line on a terminal (tickets left, buyers done, waiting)
//! - `render`    the final text report and the `--json` document
//! - `cause`     the report's one-sentence "Why:", built from the events
//! - `timeline`  the race as a picture: one lane per buyer on a common time axis
//! - `trace`     `--trace FILE`: the events as a Chrome trace for Perfetto
//! - `clock`     one monotonic clock shared by all processes
//! - `error`     the error type and its exit codes

mod buyer;
mod cause;
mod chaos;
mod cli;
mod clock;
mod completions;
mod error;
mod events;
mod interrupt;
mod launcher;
mod lock;
mod narrate;
mod orders;
mod progress;
mod purchase;
mod recovery;
mod render;
mod report;
mod settings;
mod store;
mod timeline;
mod trace;

use std::process::ExitCode;

use clap::Parser;

pub use error::{Error, ErrorKind};
/// Bytes per order-log entry, newline included (README's protocol states it too).
pub use orders::ENTRY_LEN as ORDER_ENTRY_LEN;
use settings::{Output, Settings};

/// Exit status when `--check` finds the run incorrect.
const CHECK_FAILED: u8 = 1;
/// Exit status after Ctrl-C or SIGTERM: 128 + SIGINT, as shells report it.
const INTERRUPTED: u8 = 130;

/// Parses the command line and runs; `main` only prints the error.
pub fn run() -> Result<ExitCode, Error> {
    if let Some(plan) = cli::buyer_plan_argument() {
        return Ok(buyer::run(&plan));
    }
    let cli = cli::Cli::parse();
    match cli.command {
        Some(cli::Command::Buyer { plan }) => Ok(buyer::run(&plan)),
        Some(cli::Command::Completions { shell }) => {
            completions::print(shell);
            Ok(ExitCode::SUCCESS)
        }
        None => race(cli.race.into_settings()?),
    }
}

fn race(settings: Settings) -> Result<ExitCode, Error> {
    interrupt::install();
    let mut narrator = narrate::Narrator::new(settings.output == Output::Verbose);
    let narrating = matches!(settings.output, Output::Text | Output::Verbose);
    // The trace file is created first so a bad --trace path fails before the stock changes.
    let trace_file = settings
        .trace
        .as_deref()
        .map(trace::TraceFile::create)
        .transpose()?;
    let prepared = launcher::prepare(&settings).inspect_err(|_| {
        if let Some(path) = &settings.trace {
            let _ = std::fs::remove_file(path);
        }
    })?;
    let mut progress = progress::Progress::for_run(&settings);
    if settings.output != Output::Json {
        println!("{}", render::headline(&settings));
    }
    let result = launcher::run(prepared, &mut |message| {
        progress.observe(message);
        if narrating && let Some(line) = narrator.line(message) {
            progress.println(&line);
        }
    });
    progress.finish();
    let result = result?;
    if narrating {
        let picture = timeline::render(&result.events, &timeline::Canvas::for_stdout());
        println!("\n{}", picture.join("\n"));
    }
    match settings.output {
        Output::Json => println!("{}", render::json_report(&settings, &result)),
        Output::Text | Output::Verbose | Output::Quiet => {
            print!("{}", render::text_report(&settings, &result));
        }
    }
    if settings.output == Output::Verbose {
        println!("{}", narrate::run_files(&settings, &result.run));
    }
    if let Some(file) = trace_file {
        file.write(&result.events)?;
    }
    if result.interrupted {
        return Ok(ExitCode::from(INTERRUPTED));
    }
    let failed = result.buyers.iter().any(|b| match b.ending {
        report::Ending::Finished => false,
        report::Ending::Killed { cause, .. } => cause != report::KillCause::Chaos,
        report::Ending::Failed { .. } | report::Ending::NoReport { .. } => true,
    });
    if failed || !result.garbled.is_empty() {
        return Err(Error::new(
            ErrorKind::BuyerFailed,
            "a buyer process failed; see the report above",
        ));
    }
    if settings.check && result.tally.status() != report::Status::Ok {
        return Ok(ExitCode::from(CHECK_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}
