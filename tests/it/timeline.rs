//! After a text run the report draws the race: one lane per buyer on a common time axis.

use crate::common::{Run, TestEnv};

/// The lane of `buyer` between its bars, from a run's stdout.
fn lane(run: &Run, buyer: u32) -> Option<&str> {
    let name = format!("buyer-{buyer} ");
    run.stdout()
        .lines()
        .find(|l| l.starts_with(&name) && l.contains('|'))
        .and_then(|l| l.split('|').nth(1))
}

/// The lanes of buyers 1 to `buyers`; panics with the run's context if one is missing.
fn lanes(run: &Run, buyers: u32) -> Vec<&str> {
    (1..=buyers)
        .map(|b| lane(run, b).unwrap_or_else(|| panic!("no lane for buyer-{b}{}", run.context())))
        .collect()
}

/// The column, counted like a lane's, of the caret marking the first write: under the lanes,
/// "^ first write (buyer-N)", or "first write (buyer-N) ^" near the right edge.
fn first_write_mark(run: &Run) -> Option<usize> {
    let mut lines = run.stdout().lines();
    let lane_start = lines.find(|l| l.starts_with("buyer-1 "))?.find('|')? + 1;
    let mark = lines.find(|l| l.contains("first write (buyer-"))?;
    mark.find('^')?.checked_sub(lane_start)
}

#[test]
fn a_no_lock_run_draws_every_buyer_reading_before_the_first_write() {
    let env = TestEnv::new();
    let run = env
        .race()
        .no_lock()
        .buyers(4)
        .tickets(1)
        .delay("200..300")
        .run();
    run.assert_success().assert_stdout_contains("Timeline (");
    let lanes = lanes(&run, 4);
    let first_write = lanes.iter().filter_map(|l| l.find('W')).min();
    run.assert_that(
        first_write.is_some() && first_write_mark(&run) == first_write,
        "no caret under the first write",
    );
    for lane in &lanes {
        let read = lane.find('R');
        run.assert_that(
            read.is_some() && read < first_write,
            format!("this lane reads after the first write: {lane}"),
        );
    }
    run.assert_that(
        run.stdout().matches("| read 1, wrote 0").count() == 4,
        "not every buyer read 1 and wrote 0",
    );
}

#[test]
fn a_locked_run_draws_waiting_and_holding_with_a_legend() {
    let env = TestEnv::new();
    let run = env.race().buyers(3).delay("20..30").succeeds();
    run.assert_stdout_contains("Legend: . waiting for the lock  = holding the lock")
        .assert_stdout_lacks("first write")
        .assert_that(
            lanes(&run, 3).iter().any(|l| l.contains('.')),
            "nobody waited for the lock",
        );
}

#[test]
fn locking_only_the_write_draws_reads_outside_the_lock() {
    let env = TestEnv::new();
    let run = env
        .race()
        .lock_scope("write")
        .buyers(3)
        .tickets(1)
        .delay("200..300")
        .run();
    run.assert_success()
        .assert_stdout_contains("- network delay, no lock");
    for lane in lanes(&run, 3) {
        // The read comes first, then the delay without the lock, then the locked write.
        let read = lane.find('R').unwrap_or(usize::MAX);
        let write = lane.find('W').unwrap_or(0);
        run.assert_that(read < write, format!("no read before a write: {lane}"))
            .assert_that(
                lane[read..write].contains('-'),
                format!("no delay without the lock: {lane}"),
            )
            .assert_that(
                lane.contains("=W"),
                format!("the write is not under the lock: {lane}"),
            );
    }
}

#[test]
fn a_piped_timeline_has_no_colour_codes() {
    let env = TestEnv::new();
    env.race()
        .buyers(2)
        .delay("0..2")
        .succeeds()
        .assert_stdout_contains("Timeline (")
        .assert_stdout_lacks("\x1b");
}

// Unix-only: runs on a pty (a Windows console cannot be handed to a child here).
#[cfg(unix)]
#[test]
fn a_timeline_on_a_terminal_is_coloured() {
    let env = TestEnv::new();
    env.race()
        .buyers(2)
        .delay("0..2")
        .run_on_terminal()
        .assert_success()
        .assert_stdout_contains("Timeline (")
        .assert_stdout_contains("\x1b[");
}

// Unix-only: runs on a pty (a Windows console cannot be handed to a child here).
#[cfg(unix)]
#[test]
fn a_timeline_on_a_terminal_with_no_color_set_is_plain() {
    let env = TestEnv::new();
    env.race()
        .buyers(2)
        .delay("0..2")
        .configure(|cmd| {
            cmd.env("NO_COLOR", "1");
        })
        .run_on_terminal()
        .assert_success()
        .assert_stdout_contains("Timeline (")
        .assert_stdout_lacks("\x1b");
}

#[test]
fn quiet_and_json_runs_draw_no_timeline() {
    let env = TestEnv::new();
    let race = || env.race().buyers(2).delay("0..2");
    race().quiet().succeeds().assert_stdout_lacks("Timeline");
    race().json().succeeds().assert_stdout_lacks("Timeline");
}

#[test]
fn many_buyers_show_forty_lanes_and_count_the_rest() {
    let env = TestEnv::new();
    let run = env.race().buyers(45).delay("0..0").no_fsync().succeeds();
    run.assert_stdout_contains("... 5 more buyers not shown")
        .assert_that(lane(&run, 40).is_some(), "no lane for buyer-40")
        .assert_that(lane(&run, 41).is_none(), "a lane for buyer-41");
}
