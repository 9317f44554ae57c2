//! One run, start to end: check everything, spawn the buyers, set the stock and open the
//! run's window of the ledger, race, close the window, reconcile, show the result, and choose
//! the exit status. Every check that can fail runs before anything changes.

use std::os::unix::process::ExitStatusExt as _;

use crate::events::Message;
use crate::exit::{Error, Exit, Result};
use crate::race::{chaos, interrupt, launcher};
use crate::report::{self, Ledger, RunResult, Status};
use crate::settings::{Output, Settings};
use crate::shop::keeper::Keeper;
use crate::shop::ledger::LockWait;
use crate::shop::lock::holder_name;
use crate::show::{json, narrate, out, progress, text, timeline, trace};

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
    let shop = Keeper::open(&settings).inspect_err(|_| forget_trace())?;
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
    let victims = chaos::choose_victims(&settings);
    let start = launcher::Start {
        settings: &settings,
        run: &run,
        victims: &victims,
        password: shop.password(),
    };
    // The buyers start first and wait for the gun: a machine that cannot run them all
    // fails here, before the stock is touched.
    let field = launcher::spawn(&start).inspect_err(|_| forget_trace())?;
    let (racing, opened) = match shop.enter_race(&settings, &run, &wait) {
        Ok(entered) => entered,
        Err(e) => {
            field.call_off();
            forget_trace();
            return Err(e);
        }
    };

    let mut narrator = narrate::Narrator::new(settings.output == Output::Verbose);
    if settings.on_database() {
        narrator = narrator.on_database();
    }
    let narrating = matches!(settings.output, Output::Text | Output::Verbose);
    let mut progress = progress::Progress::for_run(&settings);
    if settings.output != Output::Json {
        out::line(&text::headline(&settings));
    }
    let raced = field.race(&victims, &mut |message: &Message| {
        progress.observe(message);
        if narrating && let Some(line) = narrator.line(message) {
            progress.println(&line);
        }
    });
    progress.finish();
    let raced = raced?;

    let interrupted = interrupt::interrupted();
    let (closed, settle_error) = shop.close_race(&settings, &opened, &run, &wait);
    drop(racing);
    let killed: Vec<u32> = raced
        .reaped
        .iter()
        .filter(|r| r.status.signal().is_some())
        .map(|r| r.pid)
        .collect();
    shop.remove_temp_files_of(&settings, &killed);
    let victim_reports = chaos::report_victims(&victims, &raced.reaped, &raced.fired);
    let result = report::reconcile(
        raced,
        Ledger {
            run,
            initial: opened.tickets,
            remaining: closed.remaining,
            window: &closed.window,
            recovered_by_launcher: closed.recovered,
            settle_error: settle_error.as_ref().map(Error::to_string),
        },
        victim_reports,
        interrupted,
    );

    show(&settings, &result, narrating);
    if let Some(file) = trace_file {
        file.write(&result.events)?;
    }
    exit_status(&settings, &result, settle_error)
}

fn show(settings: &Settings, result: &RunResult, narrating: bool) {
    if narrating {
        let picture = timeline::render(&result.events, &timeline::Canvas::for_stdout());
        out::line(&format!("\n{}", picture.join("\n")));
    }
    match settings.output {
        Output::Json => out::line(&json::report(settings, result)),
        Output::Text | Output::Verbose | Output::Quiet => {
            out::print(&text::report(settings, result))
        }
    }
    if settings.output == Output::Verbose {
        out::line(&narrate::run_files(settings, &result.run));
    }
}

fn exit_status(
    settings: &Settings,
    result: &RunResult,
    settle_error: Option<Error>,
) -> Result<Exit> {
    if result.interrupted {
        return Ok(Exit::Interrupted);
    }
    if let Some(e) = settle_error {
        return Err(e);
    }
    if let Some(kind) = out::failure() {
        return Err(Error::environment(format!(
            "failed to write the report to stdout: {}",
            std::io::Error::from(kind)
        )));
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
