//! One buyer process: wait for the starting gun, search, then buy; every step is reported to
//! the launcher as an event on the shared pipe, ending with one `finished` report line.

use std::io::Read;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::events::{Event, Outcome, Reporter};
use crate::lock::{LockFile, lock_path_for};
use crate::orders::{OrderLog, log_path_for};
use crate::purchase::{Attempt, Shop, Step};
use crate::settings::{DelayRange, Durability, LockScope, PerBuyer};
use crate::store;

/// A buyer stops streaming per-step events after this many attempts, so a throughput run of
/// 200,000 purchases is not slowed down by 10⁶ pipe writes; its report line still counts all.
const DETAILED_ATTEMPTS: u64 = 100;

/// What the launcher tells a buyer, passed as one JSON argument.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuyerPlan {
    pub index: u32,
    pub data: PathBuf,
    pub scope: LockScope,
    pub delay: DelayRange,
    pub seed: u64,
    pub per_buyer: PerBuyer,
    pub durability: Durability,
    pub lock_timeout_ms: Option<u64>,
    /// The launcher's start on the shared monotonic clock.
    pub epoch_ns: u64,
    pub run: String,
    pub launcher_pid: u32,
    /// Fault injection: die by SIGKILL at this step of this attempt (1-based).
    pub crash_at: Option<(Step, u64)>,
    /// How many buyers race, and the data file's seq at the start: together they tell a
    /// buyer whether it is ahead of its fair share.
    pub buyers: u32,
    pub first_seq: u64,
}

/// The delays one buyer will use, in order: derived from the run's seed and the buyer's
/// number, so `--seed` replays every buyer's delays exactly.
pub fn delay_stream(seed: u64, index: u32, delay: DelayRange) -> impl FnMut() -> u64 {
    let mut rng =
        StdRng::seed_from_u64(seed ^ (u64::from(index)).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    move || rng.random_range(delay.lo_ms..=delay.hi_ms)
}

/// Entry point of the hidden `buyer` subcommand.
pub fn run(plan_json: &str) -> ExitCode {
    let plan: BuyerPlan = match serde_json::from_str(plan_json) {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("grab-tickets buyer: bad plan from launcher: {e}");
            return ExitCode::from(crate::error::ErrorKind::Usage.exit_code());
        }
    };
    die_with_launcher(plan.launcher_pid);
    let report = match Reporter::on_stdout(plan.index, plan.epoch_ns) {
        Ok(report) => report,
        Err(e) => {
            eprintln!(
                "grab-tickets buyer-{}: no pipe to the launcher: {e}",
                plan.index
            );
            return ExitCode::from(crate::error::ErrorKind::Environment.exit_code());
        }
    };
    match buy(&plan, &report) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report.send(Event::Failed {
                message: e.to_string(),
                exit_code: e.kind.exit_code(),
            });
            e.exit_code()
        }
    }
}

fn buy(plan: &BuyerPlan, report: &Reporter) -> Result<()> {
    // Opened before the gun so the race measures buying, not opening files.
    let lock = LockFile::open(&lock_path_for(&plan.data))?;
    let log = OrderLog::open(&log_path_for(&plan.data))?;
    if !wait_for_starting_gun() {
        return Ok(()); // The launcher gave up before the start; there is nothing to report.
    }
    report.send(Event::Started);

    let searched = store::read(&plan.data)?.ticket_num;
    report.send(Event::Searched { seen: searched });

    let mut next_delay = delay_stream(plan.seed, plan.index, plan.delay);
    let attempt_number = std::cell::Cell::new(0u64);
    let checkpoint = |step: Step| {
        if plan.crash_at == Some((step, attempt_number.get())) {
            kill_self();
        }
    };
    let shop = Shop {
        data: &plan.data,
        lock: &lock,
        log: &log,
        scope: plan.scope,
        durability: plan.durability,
        lock_timeout: plan.lock_timeout_ms.map(Duration::from_millis),
        buyer: plan.index,
        pid: std::process::id(),
        run: &plan.run,
        checkpoint: &checkpoint,
    };
    let mut bought = 0;
    let mut delays_ms = Vec::new();
    let outcome = loop {
        if !plan.per_buyer.wants_more(bought) {
            break Outcome::Bought;
        }
        attempt_number.set(attempt_number.get() + 1);
        let delay = next_delay();
        if delays_ms.len() < DETAILED_ATTEMPTS as usize {
            delays_ms.push(delay);
        }
        let detail = (attempt_number.get() <= DETAILED_ATTEMPTS).then_some(report);
        match shop.attempt(delay, detail)? {
            Attempt::Bought { seq } => {
                bought += 1;
                step_aside_if_ahead(bought, seq.saturating_sub(plan.first_seq), plan.buyers);
            }
            Attempt::SoldOut => break Outcome::SoldOut,
            Attempt::LockTimeout => break Outcome::LockTimeout,
        }
    };
    report.send(Event::Finished {
        outcome,
        searched,
        bought,
        attempts: attempt_number.get(),
        delays_ms,
    });
    Ok(())
}

/// How long a buyer ahead of its fair share stays away from the lock.
const STEP_ASIDE: std::time::Duration = std::time::Duration::from_micros(20);

/// flock is not FIFO: on unlock the kernel wakes the waiters, but the buyer that just
/// unlocked is still on its core and usually locks again before they run, so with more buyers
/// than cores one buyer can take most of the stock. A buyer more than a quarter ahead of its
/// fair share (`sold / buyers`) sleeps a moment (20 µs asked, ~50-70 µs with timer slack),
/// letting a woken waiter in; a bare `sched_yield` left one run in five at 0.30 of the stock
/// with 8 buyers under load. Buyers at or below their share never pay for this.
fn step_aside_if_ahead(bought: u64, sold: u64, buyers: u32) {
    let buyers = u64::from(buyers);
    if 4 * bought * buyers > 5 * sold + 4 * buyers {
        std::thread::sleep(STEP_ASIDE);
    }
}

/// Blocks until the launcher writes our byte of the starting gun. EOF means the launcher is
/// gone or aborted the start.
fn wait_for_starting_gun() -> bool {
    // Read fd 0 unbuffered: the gun pipe is shared, and a buffered read could take the bytes
    // meant for the other buyers.
    let Ok(fd) = std::io::stdin().as_fd().try_clone_to_owned() else {
        return false;
    };
    let mut byte = [0u8; 1];
    matches!(std::fs::File::from(fd).read(&mut byte), Ok(1))
}

/// A buyer must never outlive its launcher and keep buying unobserved: ask Linux to SIGKILL us
/// when the launcher dies, and catch the case where it died before we asked.
fn die_with_launcher(launcher_pid: u32) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl(PR_SET_PDEATHSIG) only changes this process's own death signal.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) };
    }
    // SAFETY: getppid has no preconditions.
    if unsafe { libc::getppid() } as u32 != launcher_pid {
        std::process::exit(0);
    }
}

fn kill_self() -> ! {
    // SAFETY: raising a signal on ourselves; SIGKILL cannot be caught, so we never return.
    unsafe { libc::raise(libc::SIGKILL) };
    unreachable!("SIGKILL does not return")
}
