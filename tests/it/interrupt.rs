//! Ctrl-C on the launcher (SIGINT; the console's Ctrl-C on Windows) stops and reaps the buyers
//! and prints a partial report; a launcher that is SIGKILLed (TerminateProcess on Windows)
//! takes its buyers with it. The tests wait for the buyers' own output and for their processes
//! to end (signals), never for a fixed sleep.

use crate::common::exit::INTERRUPTED;
use crate::common::process::{killed_outright, wait_until_gone};
use crate::common::{BACKSTOP, TestEnv};

/// Buyer pids from the step-by-step narration's "(pid N) searches" lines (`--verbose`).
fn buyer_pids(lines: &[String]) -> Vec<u32> {
    lines
        .iter()
        .filter(|l| l.contains(") searches"))
        .filter_map(|l| l.split("(pid ").nth(1)?.split(')').next()?.parse().ok())
        .collect()
}

fn count(lines: &[String], needle: &str) -> usize {
    lines.iter().filter(|l| l.contains(needle)).count()
}

fn assert_all_gone(pids: &[u32]) {
    for &pid in pids {
        assert!(
            wait_until_gone(pid, BACKSTOP),
            "buyer pid {pid} outlived its launcher"
        );
    }
}

// SIGINT on Unix; on Windows the console's Ctrl-C event (see `Live::interrupt`).
#[test]
fn ctrl_c_stops_the_buyers_and_prints_a_partial_report() {
    let env = TestEnv::new();
    let mut launcher = env
        .race()
        .verbose()
        .buyers(4)
        .tickets(3)
        .delay("2000..2000")
        .spawn();
    let seen = launcher.wait_for(
        "the first sale, and someone else holding the lock mid-purchase",
        |seen| {
            count(seen, "searches") == 4
                && count(seen, "BOUGHT a ticket, confirmed") >= 1
                && count(seen, "takes the lock") >= 2
        },
    );
    let pids = buyer_pids(seen);
    launcher.interrupt();
    let run = launcher.finish();
    // Usually one sale; on a loaded machine a second may be confirmed before the signal lands.
    // Whatever it was, the verdict and the data file must agree on it.
    let sold = 3 - env.ticket_num();
    let verdict = format!("OK: 3 tickets, {sold} sold");
    run.assert_code(INTERRUPTED)
        .assert_stdout_contains("INTERRUPTED: the race was stopped early")
        .assert_stdout_contains("was killed by the interrupt")
        .assert_that(
            (1..=2).contains(&sold),
            format!("{sold} sold: the interrupt came before the first sale or after the last"),
        )
        .assert_that(
            // --verbose ends with the run's files, after the verdict.
            run.stdout()
                .lines()
                .rev()
                .nth(1)
                .is_some_and(|l| l.starts_with(&verdict)),
            format!("the verdict does not end the report with {verdict:?}"),
        );
    assert_all_gone(&pids);
}

#[test]
fn a_killed_launcher_takes_its_buyers_with_it() {
    let env = TestEnv::new();
    let mut launcher = env.race().verbose().buyers(3).delay("2000..2000").spawn();
    let seen = launcher.wait_for("every buyer searching, one in its delay", |seen| {
        count(seen, "searches") == 3 && count(seen, "network delay") >= 1
    });
    let pids = buyer_pids(seen);
    assert_eq!(pids.len(), 3, "{seen:?}");
    launcher.kill(); // SIGKILL or TerminateProcess: no handler runs in the launcher.
    let run = launcher.finish();
    run.assert_that(killed_outright(&run.status), "the launcher was not killed");
    assert_all_gone(&pids);
    // Every buyer is gone, so nothing can change the file any more: no orphan kept buying.
    run.assert_tickets_left(3);
}

// Unix-only: SIGHUP, a signal Windows has not.
#[cfg(unix)]
#[test]
fn a_hangup_stops_the_race_like_ctrl_c() {
    let env = TestEnv::new();
    let mut launcher = env.race().verbose().buyers(3).delay("2000..2000").spawn();
    let seen = launcher.wait_for("every buyer searching", |seen| count(seen, "searches") == 3);
    let pids = buyer_pids(seen);
    launcher.signal(libc::SIGHUP);
    launcher
        .finish()
        .assert_code(INTERRUPTED)
        .assert_stdout_contains("INTERRUPTED: the race was stopped early");
    assert_all_gone(&pids);
}

// Unix-only: SIGINT then SIGTERM, signals Windows has not.
#[cfg(unix)]
#[test]
fn a_second_signal_stops_at_once_and_says_so() {
    let env = TestEnv::new();
    let mut launcher = env.race().verbose().buyers(3).delay("2000..2000").spawn();
    let seen = launcher.wait_for("every buyer searching", |seen| count(seen, "searches") == 3);
    let pids = buyer_pids(seen);
    // Both arrive before the launcher can print its report (two of the same signal would
    // merge into one while pending, so the second is another signal, as from `kill`).
    launcher.signal(libc::SIGINT);
    launcher.signal(libc::SIGTERM);
    let run = launcher.finish();
    run.assert_code(INTERRUPTED)
        .assert_stderr_contains("stopped at once by a second signal, without a report")
        .assert_stdout_lacks("Report (");
    assert_all_gone(&pids);
    // The files are whole: the next run settles them.
    env.race()
        .keep_stock()
        .buyers(1)
        .delay("0..0")
        .check()
        .quiet()
        .succeeds();
}
