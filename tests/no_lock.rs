//! Without the lock (or with the lock around the write only) the race oversells, every time:
//! all buyers start on one starting gun and read long before the first write, because the
//! simulated delay (200 ms or more) dwarfs the spawn jitter (a few ms), on one core or many.

mod common;
use common::TestEnv;

#[test]
fn no_lock_run_oversells() {
    let env = TestEnv::new();
    let run = env
        .race()
        .no_lock()
        .buyers(10)
        .tickets(3)
        .delay("200..300")
        .json()
        .run();
    run.assert_success();
    let tally = run.tally();
    run.assert_that(tally.initial == 3, "the stock was not 3")
        .assert_that(tally.confirmed > 3, "expected overselling")
        .assert_status("oversold")
        .assert_report("/tally/oversold", tally.confirmed - 3)
        // Everyone read 3 and wrote 2: the file forgot all but one sale.
        .assert_that(tally.remaining == 2, "the report does not say 2 left")
        .assert_tickets_left(2);
}

#[test]
fn no_lock_report_explains_where_overselling_came_from() {
    let env = TestEnv::new();
    env.race()
        .no_lock()
        .buyers(5)
        .tickets(1)
        .delay("200..250")
        .succeeds()
        .assert_stdout_contains("OVERSOLD: 1 ticket, 5 confirmed (4 oversold)")
        .assert_stdout_contains("all read ticket_num = 1 before anyone wrote");
}

#[test]
fn locking_only_the_write_still_oversells() {
    let env = TestEnv::new();
    let run = env
        .race()
        .lock_scope("write")
        .buyers(6)
        .tickets(2)
        .delay("200..300")
        .json()
        .run();
    run.assert_success();
    let cause = run.report()["verdict"]["cause"]
        .as_str()
        .unwrap_or_default();
    run.assert_that(run.tally().confirmed > 2, "expected overselling")
        .assert_that(
            cause.contains("the lock only covered the write"),
            "the cause does not blame the lock scope",
        );
}
