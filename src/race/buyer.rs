//! One buyer process: wait for the starting gun, search, then buy; every step is reported to
//! the launcher as an event on the shared pipe, ending with one `finished` report line.

use std::cell::Cell;
use std::io::Read;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use super::chaos::StepDeath;
use super::pipe::Reporter;
use crate::events::{Event, Outcome};
use crate::exit::{Error, Exit, Result};
use crate::lang::{self, Lang, tr};
use crate::safe_text::escaped;
use crate::settings::{BuyerSettings, DelayRange, Move, Step, StoreAt};
use crate::shop::file_store::FileStore;
use crate::shop::pg::Target;
use crate::shop::pg::store::PgStore;
use crate::shop::purchase::{Attempt, Purchase};
use crate::shop::{Snapshot as _, Store};

/// A buyer stops streaming per-step events after this many attempts, so a throughput run of
/// 200,000 purchases is not slowed down by 10⁶ pipe writes; its report line still counts all.
const DETAILED_ATTEMPTS: u64 = 100;

/// What the launcher tells a buyer, passed as one JSON argument: the run's settings for
/// buyers, and who this buyer is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BuyerPlan {
    pub index: u32,
    pub settings: BuyerSettings,
    /// The launcher's start on the shared monotonic clock.
    pub epoch_ns: u64,
    pub run: String,
    pub launcher_pid: u32,
    /// Fault injection: die by SIGKILL at this step of this attempt (1-based).
    pub crash_at: Option<StepDeath>,
    /// A stepped run (`explore`, `--schedule`): pause before every move, reporting where, and
    /// make it only when the launcher writes a byte to this buyer's own stdin.
    pub stepped: bool,
    /// The launcher's language: a buyer's failure is told in the report in the class's words.
    pub lang: Lang,
}

/// 2^64 divided by the golden ratio (SplitMix64's increment): multiplying the buyer number by
/// it spreads neighbouring numbers over the whole seed space, so buyer 1's and buyer 2's
/// delay streams from one `--seed` are unrelated.
const SEED_MIXER: u64 = 0x9E37_79B9_7F4A_7C15;

/// The delays one buyer will use, in order: derived from the run's seed and the buyer's
/// number, so `--seed` replays every buyer's delays exactly.
pub(crate) fn delay_stream(seed: u64, index: u32, delay: DelayRange) -> impl FnMut() -> u64 {
    // A fixed delay needs no generator: ChaCha probes the CPU (CPUID, a trap to the hypervisor
    // on a VM) in every buyer process, which perf showed at 1 % of a 1000-buyer run.
    let mut rng = (delay.lo_ms != delay.hi_ms)
        .then(|| StdRng::seed_from_u64(seed ^ u64::from(index).wrapping_mul(SEED_MIXER)));
    move || match &mut rng {
        Some(rng) => rng.random_range(delay.lo_ms..=delay.hi_ms),
        None => delay.lo_ms,
    }
}

/// The launcher starts every buyer as `grab-tickets buyer --plan JSON`, and this is the one
/// parser of that command. It skips clap on purpose: building the whole command-line parser
/// costs each buyer process about a tenth of its start-up, and a run is mostly start-ups.
pub(crate) fn plan_argument() -> Option<String> {
    let mut args = std::env::args_os().skip(1);
    let (Some(sub), Some(flag), Some(plan), None) =
        (args.next(), args.next(), args.next(), args.next())
    else {
        return None;
    };
    (sub == "buyer" && flag == "--plan").then(|| plan.into_string().ok())?
}

/// The `grab-tickets buyer --plan JSON` process, from start to exit.
pub(crate) fn run(plan_json: &str) -> Exit {
    let plan: BuyerPlan = match serde_json::from_str(plan_json) {
        Ok(plan) => plan,
        Err(e) => {
            lang::choose_quietly(Lang::from_command_line(std::env::args()));
            let error = tr!("error-buyer-bad-plan", error = e.to_string());
            eprintln!("{}", escaped(&tr!("error-line", error = error)));
            return Exit::Usage;
        }
    };
    lang::choose_quietly(plan.lang);
    die_with_launcher(plan.launcher_pid);
    let report = match Reporter::on_stdout(plan.index, plan.epoch_ns) {
        Ok(report) => report,
        Err(e) => {
            let error = tr!(
                "error-buyer-no-pipe",
                who = tr!("buyer", n = plan.index),
                error = e.to_string()
            );
            eprintln!("{}", escaped(&tr!("error-line", error = error)));
            return Exit::Environment;
        }
    };
    match buy(&plan, &report) {
        Ok(()) => Exit::Success,
        Err(e) => {
            report.send(Event::Failed {
                failure: e.kind(),
                message: e.to_string(),
                exit_code: e.exit().code(),
            });
            e.exit()
        }
    }
}

/// Opens the store the plan names (before the gun, so the race measures buying, not opening
/// files or logging in), then buys from it. Only a database buyer pays for connecting.
fn buy(plan: &BuyerPlan, report: &Reporter) -> Result<()> {
    let settings = &plan.settings;
    match &settings.store {
        StoreAt::DataFile => buy_from(&FileStore::open(&settings.data)?, plan, report),
        StoreAt::Postgres { url } => {
            let mut stdin = open_stdin()
                .map_err(|e| Error::environment(tr!("error-buyer-stdin", error = e.to_string())))?;
            let Some(password) = super::secret::receive(&mut stdin)? else {
                return Ok(()); // The launcher called the race off before the start.
            };
            let target = Target::parse(url, settings.rules.durability)?.with_password(password);
            buy_from(
                &PgStore::open(&target, plan.index, settings.db_lock)?,
                plan,
                report,
            )
        }
    }
}

fn buy_from(store: &impl Store, plan: &BuyerPlan, report: &Reporter) -> Result<()> {
    report.send(Event::Ready);
    if !wait_for_starting_gun() {
        return Ok(()); // The launcher gave up before the start; there is nothing to report.
    }
    report.send(Event::Started);
    let go = match plan.stepped {
        true => Some(
            open_stdin()
                .map_err(|e| Error::environment(tr!("error-step-pipe", error = e.to_string())))?,
        ),
        false => None,
    };
    let pause = |before: Move| {
        if let Some(go) = &go {
            report.send(Event::Paused { before });
            if !wait_for_byte(go) {
                // The launcher stopped the stepped run (or is gone): nothing more to do.
                std::process::exit(0);
            }
        }
    };

    pause(Move::Search);
    let search = store.read()?;
    report.send(Event::Searched {
        seen: search.ticket_num(),
    });

    let attempt_number = Cell::new(0u64);
    let checkpoint = |step: Step| {
        let here = StepDeath {
            step,
            attempt: attempt_number.get(),
        };
        if plan.crash_at == Some(here) {
            // Said first, so the narration and the timeline show the death where it happens.
            report.send(Event::Killed {
                step,
                attempt: here.attempt,
            });
            kill_self();
        }
    };
    let purchase = Purchase {
        store,
        rules: plan.settings.rules,
        buyer: plan.index,
        pid: std::process::id(),
        run: &plan.run,
        checkpoint: &checkpoint,
        retries: Cell::new(0),
        pause: &pause,
    };
    let finished = buy_until_done(&purchase, plan, report, &attempt_number, &search)?;
    report.send(finished);
    Ok(())
}

/// Attempts purchases until the buyer has what it wants, finds none left or gives up on the
/// lock (`attempt_number` counts them); returns the report line. Per-step events stream only
/// for the first attempts.
fn buy_until_done<S: Store>(
    purchase: &Purchase<S>,
    plan: &BuyerPlan,
    report: &Reporter,
    attempt_number: &Cell<u64>,
    search: &S::Snapshot,
) -> Result<Event> {
    let mut next_delay = delay_stream(plan.settings.seed, plan.index, plan.settings.delay);
    let mut bought = 0;
    let mut delays_ms = Vec::new();
    let outcome = loop {
        if !plan.settings.per_buyer.wants_more(bought) {
            break Outcome::Bought;
        }
        attempt_number.set(attempt_number.get() + 1);
        let delay = next_delay();
        if delays_ms.len() < DETAILED_ATTEMPTS as usize {
            delays_ms.push(delay);
        }
        let detailed = attempt_number.get() <= DETAILED_ATTEMPTS;
        let send = |event: Event| {
            if detailed {
                report.send(event);
            }
        };
        match purchase.attempt(delay, detailed, &send)? {
            Attempt::Bought { seq } => {
                bought += 1;
                let sold = seq.saturating_sub(search.seq());
                step_aside_if_ahead(bought, sold, plan.settings.buyers);
            }
            Attempt::SoldOut => break Outcome::SoldOut,
            Attempt::LockTimeout => break Outcome::LockTimeout,
        }
    };
    Ok(Event::Finished {
        outcome,
        searched: search.ticket_num(),
        bought,
        attempts: attempt_number.get(),
        delays_ms,
        retries: purchase.retries.get(),
    })
}

/// How long a buyer ahead of its fair share stays away from the lock.
const STEP_ASIDE: Duration = Duration::from_micros(20);
/// How far ahead of its fair share a buyer may get before it steps aside, as a fraction
/// (numerator / denominator): a quarter. Less made buyers sleep on ordinary jitter; more let
/// one buyer run away with the stock again.
const FAIR_SHARE_SLACK: (u64, u64) = (1, 4);

/// flock is not FIFO: on unlock the kernel wakes the waiters, but the buyer that just
/// unlocked is still on its core and usually locks again before they run, so with more buyers
/// than cores one buyer can take most of the stock. A buyer more than a quarter ahead of its
/// fair share (`sold / buyers`, plus one ticket) sleeps a moment (20 µs asked, ~50-70 µs with
/// timer slack), letting a woken waiter in; a bare `sched_yield` left one run in five at 0.30
/// of the stock with 8 buyers under load. Buyers at or below their share never pay for this.
fn step_aside_if_ahead(bought: u64, sold: u64, buyers: u32) {
    let buyers = u64::from(buyers);
    let (num, den) = FAIR_SHARE_SLACK;
    // bought > (1 + num/den) * sold / buyers + 1, in integers. Saturating: the counts come
    // from the ledger's seqs, which a hand-edited table can put anywhere; a buyer near the
    // top must not panic here, only fail to step aside.
    let ahead = den.saturating_mul(bought).saturating_mul(buyers);
    let share = (den + num)
        .saturating_mul(sold)
        .saturating_add(den.saturating_mul(buyers));
    if ahead > share {
        std::thread::sleep(STEP_ASIDE);
    }
}

/// Blocks until the launcher writes our byte of the starting gun. EOF means the launcher is
/// gone or aborted the start.
fn wait_for_starting_gun() -> bool {
    open_stdin().is_ok_and(|stdin| wait_for_byte(&stdin))
}

/// Fd 0 as an unbuffered file: the gun pipe is shared, and a buffered read could take the
/// bytes meant for the other buyers.
fn open_stdin() -> std::io::Result<std::fs::File> {
    crate::sys::raw_stdin()
}

/// Reads one byte; false at EOF (the launcher closed the pipe) or on an error.
fn wait_for_byte(mut from: &std::fs::File) -> bool {
    let mut byte = [0u8; 1];
    loop {
        match from.read(&mut byte) {
            Ok(n) => return n == 1,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

/// A buyer must never outlive its launcher and keep buying unobserved (how each platform
/// sees to it, is `sys::die_with_launcher`'s).
fn die_with_launcher(launcher_pid: u32) {
    crate::sys::die_with_launcher(launcher_pid);
}

/// Dies at once, as SIGKILL kills: no unlock, no flush, no goodbye.
fn kill_self() -> ! {
    crate::sys::kill_self()
}
