//! With the lock around the whole purchase, every ticket is sold exactly once.

use crate::common::{Tally, TestEnv};
use std::collections::BTreeSet;

#[test]
fn locked_run_sells_each_ticket_exactly_once() {
    let env = TestEnv::new();
    let run = env.race().buyers(10).tickets(3).delay("5..20").json().run();
    run.assert_success();
    let sold_out = run.count_buyers(|b| b["outcome"] == "sold_out" && b["confirmed"] == 0);
    run.assert_tally(Tally::initial(3).confirmed(3).remaining(0).logged(3))
        .assert_that(sold_out == 7, format!("{sold_out} buyers sold out, not 7"))
        .assert_status("ok")
        .assert_tickets_left(0);
}

#[test]
fn locked_run_with_more_tickets_than_buyers_leaves_the_rest() {
    let env = TestEnv::new();
    let run = env.race().buyers(10).tickets(20).delay("1..5").json().run();
    run.assert_success()
        .assert_tally(Tally::initial(20).confirmed(10).remaining(10).logged(10))
        .assert_tickets_left(10);
}

#[test]
fn every_buyer_is_a_separate_process() {
    let env = TestEnv::new();
    let run = env.race().buyers(5).delay("0..0").json().run();
    run.assert_success();
    let pids: BTreeSet<u64> = run
        .buyers()
        .iter()
        .map(|b| b["pid"].as_u64().unwrap())
        .collect();
    run.assert_that(pids.len() == 5, format!("five buyers, pids {pids:?}"))
        .assert_that(
            !pids.contains(&u64::from(run.pid)),
            "a buyer ran inside the launcher",
        );
}

#[test]
fn buyers_that_keep_buying_sell_out_the_stock_exactly() {
    let env = TestEnv::new();
    let run = env
        .race()
        .buyers(4)
        .tickets(300)
        .per_buyer("all")
        .delay("0..0")
        .no_fsync()
        .json()
        .run();
    run.assert_success()
        .assert_tally(Tally::initial(300).confirmed(300).remaining(0).logged(300));
}

#[test]
fn a_buyer_wanting_two_tickets_gets_two() {
    let env = TestEnv::new();
    let run = env
        .race()
        .buyers(3)
        .tickets(10)
        .per_buyer(2)
        .delay("0..2")
        .json()
        .run();
    run.assert_success();
    let got_two = run.count_buyers(|b| b["confirmed"] == 2 && b["outcome"] == "bought");
    run.assert_tally(Tally::initial(10).confirmed(6).remaining(4).logged(6))
        .assert_that(got_two == 3, format!("{got_two} of 3 buyers bought two"));
}

#[test]
fn a_waiting_buyer_says_whom_it_waits_for() {
    let env = TestEnv::new();
    // Usually "held by buyer-N"; a waiter that tries in the microsecond between the holder's
    // flock and its pid write sees "held by another process". Buyers waiting at once for the
    // same holder share one line ("buyers 2 and 3 wait for the lock, held by ...").
    env.race()
        .buyers(3)
        .delay("50..60")
        .succeeds()
        .assert_stdout_contains(" for the lock, held by ")
        .assert_stdout_contains("OK: 3 tickets, 3 sold");
}

#[test]
fn keep_stock_uses_the_file_as_it_is() {
    let env = TestEnv::with_data("{\"ticket_num\": 2, \"show\": \"Hamlet\"}\n");
    let run = env.race().keep_stock().buyers(3).delay("0..1").json().run();
    run.assert_success()
        .assert_tally(Tally::initial(2).confirmed(2).remaining(0).logged(2))
        .assert_that(
            env.data_json()["show"] == "Hamlet",
            "unknown fields are lost",
        );
}
