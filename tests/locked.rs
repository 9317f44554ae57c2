//! With the lock around the whole purchase, every ticket is sold exactly once.

mod common;
use common::{TestEnv, tally};

#[test]
fn locked_run_sells_each_ticket_exactly_once() {
    let env = TestEnv::new();
    let (run, report) = env.run_json(&["--buyers", "10", "--tickets", "3", "--delay-ms", "5..20"]);
    run.assert_code(0);
    assert_eq!(tally(&report), (3, 3, 0, 3), "{}", run.context());
    let sold_out = report["buyers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["outcome"] == "sold_out" && b["confirmed"] == 0)
        .count();
    assert_eq!(sold_out, 7, "{}", run.context());
    assert_eq!(report["verdict"]["status"], "ok");
    assert_eq!(env.ticket_num(), 0);
}

#[test]
fn locked_run_with_more_tickets_than_buyers_leaves_the_rest() {
    let env = TestEnv::new();
    let (run, report) = env.run_json(&["--buyers", "10", "--tickets", "20", "--delay-ms", "1..5"]);
    run.assert_code(0);
    assert_eq!(tally(&report), (20, 10, 10, 10), "{}", run.context());
    assert_eq!(env.ticket_num(), 10);
}

#[test]
fn every_buyer_is_a_separate_process() {
    let env = TestEnv::new();
    let (run, report) = env.run_json(&["--buyers", "5", "--delay-ms", "0..0"]);
    run.assert_code(0);
    let mut pids: Vec<u64> = report["buyers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["pid"].as_u64().unwrap())
        .collect();
    pids.sort();
    pids.dedup();
    assert_eq!(pids.len(), 5, "{}", run.context());
    assert!(!pids.contains(&u64::from(std::process::id())));
}

#[test]
fn buyers_that_keep_buying_sell_out_the_stock_exactly() {
    let env = TestEnv::new();
    let (run, report) = env.run_json(&[
        "--buyers",
        "4",
        "--tickets",
        "300",
        "--per-buyer",
        "all",
        "--delay-ms",
        "0..0",
        "--no-fsync",
    ]);
    run.assert_code(0);
    assert_eq!(tally(&report), (300, 300, 0, 300), "{}", run.context());
}

#[test]
fn a_buyer_wanting_two_tickets_gets_two() {
    let env = TestEnv::new();
    let (run, report) = env.run_json(&[
        "--buyers",
        "3",
        "--tickets",
        "10",
        "--per-buyer",
        "2",
        "--delay-ms",
        "0..2",
    ]);
    run.assert_code(0);
    assert_eq!(tally(&report), (10, 6, 4, 6), "{}", run.context());
    for buyer in report["buyers"].as_array().unwrap() {
        assert_eq!(buyer["confirmed"], 2, "{}", run.context());
        assert_eq!(buyer["outcome"], "bought");
    }
}

#[test]
fn a_waiting_buyer_says_whom_it_waits_for() {
    let env = TestEnv::new();
    let run = env.run(&["--buyers", "3", "--delay-ms", "50..60"]);
    run.assert_code(0);
    // Usually "held by buyer-N (pid P)"; a waiter that tries in the microsecond between the
    // holder's flock and its pid write sees "held by another process". Buyers waiting at once
    // for the same holder share one line ("buyers 2 and 3 wait for the lock, held by ...").
    run.assert_stdout_contains(" for the lock, held by ");
    run.assert_stdout_contains("OK: 3 tickets, 3 sold");
}

#[test]
fn keep_stock_uses_the_file_as_it_is() {
    let env = TestEnv::with_data("{\"ticket_num\": 2, \"show\": \"Hamlet\"}\n");
    let (run, report) = env.run_json(&["--keep-stock", "--buyers", "3", "--delay-ms", "0..1"]);
    run.assert_code(0);
    assert_eq!(tally(&report), (2, 2, 0, 2), "{}", run.context());
    let data: serde_json::Value = serde_json::from_slice(&env.data_bytes()).unwrap();
    assert_eq!(data["show"], "Hamlet", "unknown fields are kept");
}
