//! One run, start to end: check everything, spawn the buyers, set the stock and open the
//! run's window of the ledger, race, close the window, reconcile, show the result, and choose
//! the exit status. Every check that can fail runs before anything changes. `explore` runs
//! many races through [`race_and_reconcile`], the very same steps without the showing.

use crate::safe_text::OneLine;
use std::path::Path;

use crate::exit::{Error, Exit, Result};
use crate::lang::tr;
use crate::race::Reaped;
use crate::race::chaos::{self, Victim};
use crate::race::interrupt;
use crate::race::launcher::{self, Pacing};
use crate::race::pipe::Tick;
use crate::race::stepper::{Conducted, Script};
use crate::report::{self, Ledger, RunResult, Status};
use crate::settings::{Output, Settings};
use crate::shop::books::LockWait;
use crate::shop::keeper::Keeper;
use crate::shop::lock::holder_name;
use crate::shop::{directory, own_files};
use crate::show::out_file::follow_links;
use crate::show::story::Story;
use crate::show::{headline, html, json, narrate, out, progress, schedule, text, timeline, trace};

pub(crate) fn run(settings: Settings) -> Result<Exit> {
    interrupt::install();
    // The user's data path is resolved once, following their symbolic link: the buyers are
    // given the result, so every process works on the one real file, with its lock file and
    // order log beside it. A FIFO, a device or a socket is refused here, before any open.
    // (The database store has no data file: `--data` is not even allowed with `--store`.)
    let settings = match settings.on_database() {
        false => {
            let data = directory::resolve_data_path(settings.data())?;
            settings.with_data(data)
        }
        true => settings,
    };
    let files = OutputFiles::create(&settings)?;
    chaos::check_steps(&settings)?;
    let canvas = timeline::Canvas::for_stdout();
    let narrating = matches!(settings.output(), Output::Text | Output::Verbose);
    let mut script = settings.schedule().map(Script::new);
    let Reconciled {
        result,
        conducted,
        settle_error,
    } = race_in_view(&settings, narrating, &canvas, script.as_mut())?;
    if let Some(script) = &mut script
        && !conducted.as_ref().is_some_and(|c| c.stopped)
    {
        script.end();
    }
    let replayed = match (settings.schedule(), &script, &conducted) {
        (Some(given), Some(script), Some(conducted)) => Some(schedule::Replayed {
            given,
            taken: &conducted.schedule,
            followed: script.followed(),
            misfit: script.misfit.as_ref(),
            stopped: conducted.stopped,
        }),
        _ => None,
    };
    // The run's facts, worked out once; every view after the race reads them.
    let story = Story::of(&result);
    show(
        &settings,
        &result,
        &story,
        narrating,
        replayed.as_ref(),
        &canvas,
    );
    files.write(&settings, &result, &story, replayed.as_ref())?;
    exit_status(&settings, &result, settle_error, replayed.as_ref())
}

/// The `--trace` and `--html` files, staged before the stock changes so that a bad path
/// fails first; dropped unwritten (a run that fails), they leave what was there untouched.
struct OutputFiles {
    trace: Option<trace::TraceFile>,
    page: Option<html::PageFile>,
}

impl OutputFiles {
    fn create(settings: &Settings) -> Result<OutputFiles> {
        refuse_shop_outputs(settings)?;
        Ok(OutputFiles {
            trace: settings.trace().map(trace::TraceFile::create).transpose()?,
            page: settings.html().map(html::PageFile::create).transpose()?,
        })
    }

    fn write(
        self,
        settings: &Settings,
        result: &RunResult,
        story: &Story,
        replayed: Option<&schedule::Replayed>,
    ) -> Result<()> {
        if let Some(file) = self.trace {
            file.write(&result.events)?;
        }
        if let Some(file) = self.page {
            file.write(settings, result, story, replayed)?;
        }
        Ok(())
    }
}

/// An output naming the data file, its lock file or its order log (directly, through a link
/// or as a hard link), or both outputs naming one file, is a usage error: nothing has changed.
fn refuse_shop_outputs(settings: &Settings) -> Result<()> {
    let outputs = [("trace", settings.trace()), ("html", settings.html())];
    let outputs: Vec<(&str, &Path)> = outputs
        .into_iter()
        .filter_map(|(flag, path)| Some((flag, path?)))
        .collect();
    if let [(_, trace), (_, page)] = outputs[..]
        && own_files::same_place(&follow_links(trace), &follow_links(page))
    {
        return Err(Error::usage(tr!(
            "error-outputs-same-file",
            path = page.one_line()
        )));
    }
    if settings.on_database() {
        return Ok(());
    }
    for (flag, path) in outputs {
        if let Some((file, how, shop)) =
            own_files::named_by(path, &follow_links(path), settings.data())
        {
            return Err(Error::usage(tr!(
                "error-output-is-shop-file",
                flag = flag,
                path = path.one_line(),
                how = how.key(),
                what = file.key(),
                shop = shop.one_line(),
                example = match flag {
                    "trace" => "trace.json",
                    _ => "race.html",
                }
            )));
        }
    }
    Ok(())
}

/// One race as people watch it: the headline before the gun, then every event narrated (or
/// only counted on the progress bar, with `-q` and `--json`) as it arrives.
fn race_in_view(
    settings: &Settings,
    narrating: bool,
    canvas: &timeline::Canvas,
    script: Option<&mut Script>,
) -> Result<Reconciled> {
    let detail = match (settings.output(), settings.schedule()) {
        (Output::Verbose, _) => narrate::Detail::EveryStep,
        // Stepped, the order of the moves is the lesson: each is told on its own line, or a
        // phrase would hide the other buyer's move in between.
        (_, Some(_)) => narrate::Detail::Steps,
        _ => narrate::Detail::Phrases,
    };
    let mut narrator = narrate::Narrator::for_run(detail, settings, canvas.text_width);
    // Made at the race's first event, so its clock starts with the race, not with a wait
    // for the stock to be set.
    let mut progress: Option<progress::Progress> = None;
    let victims = chaos::choose_victims(settings);
    let pacing = match script {
        Some(script) => Pacing::Stepped(script),
        None => Pacing::Free,
    };
    let reconciled = race_and_reconcile(
        settings,
        &victims,
        pacing,
        &mut || {
            if narrating {
                out::line(&headline::headline(settings));
            }
        },
        &mut |tick: Tick| {
            if let Tick::Gun { t_us } = tick {
                narrator.gun(t_us);
                return;
            }
            let progress = progress.get_or_insert_with(|| progress::Progress::for_run(settings));
            if let Tick::Event(message) = tick {
                progress.observe(message);
            }
            // Without narration (-q, --json) the narrator is never asked: a throughput run's
            // hundreds of thousands of events cost the launcher nothing to phrase.
            if narrating {
                let lines = match tick {
                    Tick::Event(message) => narrator.event(message),
                    Tick::Quiet | Tick::Gun { .. } => narrator.quiet(),
                };
                lines.iter().for_each(|line| progress.println(line));
            }
        },
    );
    if let Some(progress) = &progress {
        if narrating {
            narrator
                .finish()
                .iter()
                .for_each(|line| progress.println(line));
        }
        progress.finish();
    }
    reconciled
}

/// A race that ran and was reconciled.
pub(crate) struct Reconciled {
    pub result: RunResult,
    /// How a stepped race went: the schedule it took.
    pub conducted: Option<Conducted>,
    /// Why the ledger could not be settled after the race, if it could not (the result then
    /// reads the files as they are).
    pub settle_error: Option<Error>,
}

/// One race on `settings.data()`, from the checks to the reconciled result: check and open the
/// files, spawn the buyers, set the stock and open the run's window (then `before_gun`), race
/// (`on_tick` hears every event as it arrives, and the quiet moments between them), close the
/// window and reconcile.
pub(crate) fn race_and_reconcile(
    settings: &Settings,
    victims: &[Victim],
    pacing: Pacing,
    before_gun: &mut dyn FnMut(),
    on_tick: &mut dyn FnMut(Tick),
) -> Result<Reconciled> {
    let shop = Keeper::open(settings)?;
    let lock_name = shop.lock_name();
    let on_wait = |holder: Option<u32>| {
        let line = tr!(
            "launcher-waiting-for-lock",
            lock = lock_name.to_string(),
            holder = holder_name(holder)
        );
        eprintln!("{}", out::escaped(&line));
    };
    let launcher_relocks = std::cell::Cell::new(0);
    let on_relock = |change| {
        let line = tr!(
            "launcher-relocked",
            lock = lock_name.to_string(),
            change = narrate::change_name(change)
        );
        eprintln!("{}", out::escaped(&line));
        launcher_relocks.set(launcher_relocks.get() + 1);
    };
    let wait = LockWait {
        timeout: settings.lock_timeout(),
        on_wait: &on_wait,
        on_relock: &on_relock,
    };
    let run = format!("{:016x}", rand::random::<u64>());
    let start = launcher::Briefing {
        settings,
        run: &run,
        victims,
        stepped: matches!(pacing, Pacing::Stepped(_)),
        password: shop.password(),
    };
    // The buyers start first and wait for the gun: a machine that cannot run them all
    // fails here, before the stock is touched.
    let field = launcher::spawn(&start)?;
    let (racing, opened) = match shop.enter_race(settings, &run, &wait, &field.started()) {
        Ok(entered) => entered,
        Err(e) => {
            tell_why_buyers_stopped(field.call_off());
            return Err(e);
        }
    };
    before_gun();
    let mut raced = field.fire(pacing, on_tick)?;
    let conducted = raced.conducted.take();

    let interrupted = interrupt::interrupted();
    let (closed, settle_error) = shop.close_race(settings, &opened, &run, &wait);
    drop(racing);
    shop.remove_temp_files_of(settings, &killed_pids(&raced.reaped));
    let victim_reports = chaos::report_victims(victims, &raced.reaped);
    let result = report::reconcile(
        raced,
        Ledger {
            run,
            initial: opened.tickets,
            remaining: closed.remaining,
            window: closed.window.as_ref(),
            recovered_by_launcher: closed.recovered,
            settle_error: settle_error.as_ref().map(Error::to_string),
            settle_failure: settle_error.as_ref().map(Error::kind),
            launcher_relocks: launcher_relocks.get(),
        },
        victim_reports,
        interrupted,
    );
    Ok(Reconciled {
        result,
        conducted,
        settle_error,
    })
}

/// A race called off before the gun: what each buyer that stopped on its own said, before
/// the launcher's error (a buyer the server refused is the only one who knows why).
fn tell_why_buyers_stopped(failures: Vec<(u32, String)>) {
    for (buyer, error) in failures {
        let line = tr!("error-buyer-before-race", n = buyer, error = error);
        eprintln!("{}", out::escaped(&line));
    }
}

/// The pids of the buyers that died by a signal.
fn killed_pids(reaped: &[Reaped]) -> Vec<u32> {
    reaped
        .iter()
        .filter(|r| crate::sys::death_signal(&r.status).is_some())
        .map(|r| r.pid)
        .collect()
}

fn show(
    settings: &Settings,
    result: &RunResult,
    story: &Story,
    narrating: bool,
    replayed: Option<&schedule::Replayed>,
    canvas: &timeline::Canvas,
) {
    if narrating {
        let picture = timeline::render(&result.events, &result.buyers, story.gun_us, canvas);
        out::line(&format!("\n{}", picture.join("\n")));
    }
    match settings.output() {
        Output::Json => out::line(&json::report(settings, result, story, replayed)),
        Output::Text | Output::Verbose | Output::Quiet => {
            let report = text::report(settings, result, story, canvas.text_width);
            // The blank line sets the report off from the race above it; alone, it starts it.
            let report = match settings.output() {
                Output::Quiet => report.trim_start_matches('\n'),
                _ => &report,
            };
            out::print(report);
            if let Some(replayed) = replayed {
                out::print(&schedule::lines(settings, story, replayed));
            }
        }
    }
    if settings.output() == Output::Verbose {
        out::line(&narrate::run_files(settings, &result.run));
    }
}

fn exit_status(
    settings: &Settings,
    result: &RunResult,
    settle_error: Option<Error>,
    replayed: Option<&schedule::Replayed>,
) -> Result<Exit> {
    if result.interrupted {
        return Ok(Exit::Interrupted);
    }
    if let Some(e) = settle_error {
        return Err(e);
    }
    if let Some(kind) = out::failure() {
        return Err(Error::environment(tr!(
            "error-report-to-stdout",
            error = std::io::Error::from(kind).to_string()
        )));
    }
    if result.a_buyer_failed() {
        return Err(Error::buyer(tr!("error-a-buyer-failed")));
    }
    if let Some(jump) = result.forged.first() {
        // Forged history is not a verdict on this run: it is bad data another program wrote,
        // and exit 3 says so whatever `--check` asked.
        let (store, ledger) = match settings.on_database() {
            true => ("database", settings.stock_place()),
            false => {
                let log = crate::shop::orders::log_path_for(settings.data());
                ("file", log.one_line())
            }
        };
        return Err(Error::bad_data(tr!(
            "error-protocol-violation",
            store = store,
            line = jump.line,
            ledger = ledger,
            n = result.forged.len()
        )));
    }
    if let Some(misfit) = replayed.and_then(|r| r.misfit) {
        return Err(Error::usage(schedule::misfit_error(misfit)));
    }
    if settings.check() && result.tally.status() != Status::Ok {
        return Ok(Exit::CheckFailed);
    }
    Ok(Exit::Success)
}
