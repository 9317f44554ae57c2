//! One run, start to end: check everything, spawn the buyers, set the stock and open the
//! run's window of the ledger, race, close the window, reconcile, show the result, and choose
//! the exit status. Every check that can fail runs before anything changes.

use std::os::unix::process::ExitStatusExt as _;

use crate::exit::{Error, Exit, Result};
use crate::race::pipe::Tick;
use crate::race::{chaos, interrupt, launcher};
use crate::report::{self, Ledger, RunResult, Status};
use crate::settings::{Output, Restock, Settings};
use crate::shop::file_store::FileStore;
use crate::shop::ledger::{self, Closed, LockWait, Opened};
use crate::shop::lock::{GateGuard, RaceGate, holder_name, launchers};
use crate::show::{html, json, narrate, out, progress, text, timeline, trace};

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
    let shop = ledger::open_checked(&settings.data, settings.durability, settings.restock)
        .inspect_err(|_| forget_trace())?;
    let gate = RaceGate::open(shop.log.path()).inspect_err(|_| forget_trace())?;
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
    let victims = chaos::choose_victims(&settings);
    let start = launcher::Start {
        settings: &settings,
        run: &run,
        victims: &victims,
    };
    // The buyers start first and wait for the gun: a machine that cannot run them all
    // fails here, before the stock is touched.
    let field = launcher::spawn(&start).inspect_err(|_| forget_trace())?;
    let (racing, opened) = match enter_race(&settings, &shop, &gate, &run, &wait) {
        Ok(entered) => entered,
        Err(e) => {
            field.call_off();
            forget_trace();
            return Err(e);
        }
    };

    let canvas = timeline::Canvas::for_stdout();
    let detail = match settings.output {
        Output::Verbose => narrate::Detail::EveryStep,
        _ => narrate::Detail::Phrases,
    };
    let mut narrator = narrate::Narrator::new(detail, settings.buyers, canvas.text_width);
    let narrating = matches!(settings.output, Output::Text | Output::Verbose);
    let mut progress = progress::Progress::for_run(&settings);
    if narrating {
        out::line(&text::headline(&settings));
    }
    let raced = field.race(&mut |tick: Tick| {
        if let Tick::Event(message) = tick {
            progress.observe(message);
        }
        // Without narration (-q, --json) the narrator is never asked: a throughput run's
        // hundreds of thousands of events cost the launcher nothing to phrase.
        if narrating {
            let lines = match tick {
                Tick::Event(message) => narrator.event(message),
                Tick::Quiet => narrator.quiet(),
            };
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
    let (closed, settle_error) = close_race(&settings, &shop, &opened, &run, &wait);
    drop(racing);
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
            initial: opened.tickets,
            remaining: closed.remaining,
            window: &closed.window,
            recovered_by_launcher: closed.recovered,
            settle_error: settle_error.as_ref().map(Error::to_string),
        },
        victim_reports,
        interrupted,
    );

    show(&settings, &result, narrating, &canvas);
    if let Some(file) = trace_file {
        file.write(&result.events)?;
    }
    if let Some(file) = page_file {
        file.write(&settings, &result)?;
    }
    exit_status(&settings, &result, settle_error)
}

/// Sets the stock (waiting for any running race to end first: a restock never lands in the
/// middle of someone else's race), then joins the race gate and opens the run's window.
fn enter_race<'g>(
    settings: &Settings,
    shop: &FileStore,
    gate: &'g RaceGate,
    run: &str,
    wait: &LockWait,
) -> Result<(GateGuard<'g>, Opened)> {
    let on_gate_wait = |pids: &[u32]| {
        eprintln!(
            "grab-tickets: waiting for the race of {} on {} to end before setting the stock \
             (join it instead with --keep-stock)",
            launchers(pids),
            settings.data.display()
        );
    };
    if let Restock::To(_) = settings.restock {
        let exclusive = gate.enter(true, settings.lock_timeout, &on_gate_wait)?;
        ledger::restock(shop, settings.restock, run, wait)?;
        drop(exclusive);
    }
    // flock cannot turn an exclusive lock into a shared one atomically, so a restock by
    // someone else may slip in here; the window opens after it, and counts from it.
    let racing = gate.enter(false, settings.lock_timeout, &|_| {})?;
    if settings.restock == Restock::Keep {
        ledger::restock(shop, settings.restock, run, wait)?;
    }
    let opened = ledger::open_window(shop, wait)?;
    Ok((racing, opened))
}

/// Closes the run's window. On a full disk (or any failure to settle) the report is still
/// printed, from the files as they are, and says what happened.
fn close_race(
    settings: &Settings,
    shop: &FileStore,
    opened: &Opened,
    run: &str,
    wait: &LockWait,
) -> (Closed, Option<Error>) {
    match ledger::close_window(shop, opened, settings.scope, run, wait) {
        Ok(closed) => (closed, None),
        Err(e) => (ledger::read_unsettled(shop, opened), Some(e)),
    }
}

fn show(settings: &Settings, result: &RunResult, narrating: bool, canvas: &timeline::Canvas) {
    if narrating {
        let picture = timeline::render(&result.events, &result.buyers, canvas);
        out::line(&format!("\n{}", picture.join("\n")));
    }
    match settings.output {
        Output::Json => out::line(&json::report(settings, result)),
        Output::Text | Output::Verbose | Output::Quiet => {
            out::print(&text::report(settings, result, canvas.text_width))
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
