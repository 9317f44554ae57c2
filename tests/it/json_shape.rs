//! `--json` prints one document whose shape is documented in docs/json.md ("The --json
//! document"); scripts rely on it, so every key listed there is checked here.

use crate::common::{Run, TestEnv};
use serde_json::{Value, json};

const TOP: [&str; 21] = [
    "buyers",
    "events",
    "foreign_restocks",
    "forged",
    "format",
    "gun_us",
    "interrupted",
    "launcher_relocks",
    "logged_unread",
    "others",
    "race_ms",
    "recovered",
    "remaining_unread",
    "retries",
    "run",
    "settings",
    "settle_error",
    "tally",
    "unreadable",
    "verdict",
    "victims",
];
const SETTINGS: [&str; 13] = [
    "buyers",
    "data",
    "database",
    "db_lock",
    "delay_ms",
    "fsync",
    "lock_scope",
    "lock_timeout_ms",
    "method",
    "per_buyer",
    "seed",
    "store",
    "tickets",
];
const TALLY: [&str; 11] = [
    "changed_outside",
    "confirmed",
    "forged",
    "initial",
    "logged",
    "lost_updates",
    "oversold",
    "remaining",
    "sold_by_others",
    "unconfirmed",
    "unexplained",
];
const VERDICT: [&str; 3] = ["cause", "line", "status"];
const BUYER: [&str; 12] = [
    "buyer",
    "confirmed",
    "delays_ms",
    "ending",
    "lock_wait_us",
    "logged",
    "outcome",
    "pid",
    "relocks",
    "result",
    "retries",
    "searched",
];

/// Asserts that `value` (found at `at` in the report) is an object with exactly `expected`
/// as its keys, in sorted order.
fn assert_keys(run: &Run, at: &str, value: &Value, expected: &[&str]) {
    let mut keys: Vec<&str> = value
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    run.assert_that(
        keys == expected,
        format!("the keys of {at} are {keys:?}, expected {expected:?}"),
    );
}

#[test]
fn the_json_report_has_the_documented_shape() {
    let env = TestEnv::new();
    let run = env.race().json().buyers(3).tickets(2).delay("0..2").run();
    run.assert_success();
    let report = run.report();
    assert_keys(&run, "the report", report, &TOP);
    assert_keys(&run, "settings", &report["settings"], &SETTINGS);
    assert_keys(&run, "tally", &report["tally"], &TALLY);
    assert_keys(&run, "verdict", &report["verdict"], &VERDICT);
    run.assert_report("/format", 1)
        .assert_report("/interrupted", false)
        .assert_report("/launcher_relocks", 0)
        .assert_report("/victims", json!([]))
        .assert_report("/recovered", json!([]))
        .assert_report("/forged", json!([]))
        // The file store's values of the keys the database store added.
        .assert_report("/settings/store", "file")
        .assert_report("/settings/database", Value::Null)
        .assert_report("/settings/db_lock", Value::Null)
        .assert_report("/settings/method", "read_check_write")
        .assert_report("/retries", 0)
        .assert_that(report["run"].is_string(), "run is not a string")
        .assert_that(report["race_ms"].is_number(), "race_ms is not a number")
        .assert_that(run.buyers().len() == 3, "not one entry per buyer");
    for buyer in run.buyers() {
        assert_keys(&run, "a buyer", buyer, &BUYER);
        run.assert_that(
            buyer["ending"]["how"] == "finished",
            "a buyer did not finish",
        )
        .assert_that(
            buyer["result"] == "bought" || buyer["result"] == "sold_out",
            format!("a finished buyer's result: {buyer}"),
        );
    }
}

#[test]
fn every_event_has_a_buyer_a_pid_a_time_and_a_kind() {
    let env = TestEnv::new();
    let run = env.race().json().buyers(2).tickets(1).delay("1..2").run();
    run.assert_success();
    let events = run.report()["events"]
        .as_array()
        .expect("events is an array");
    let mut kinds: Vec<&str> = Vec::new();
    for event in events {
        for key in ["buyer", "pid", "t_us"] {
            run.assert_that(event[key].is_u64(), format!("no {key} in {event}"));
        }
        kinds.push(event["kind"].as_str().expect("kind"));
    }
    for kind in [
        "spawned",
        "started",
        "searched",
        "lock_acquired",
        "read",
        "delay",
        "ordered",
        "wrote",
        "sold_out",
        "lock_released",
        "finished",
    ] {
        run.assert_that(kinds.contains(&kind), format!("no {kind} event"));
    }
}

#[test]
fn json_and_quiet_together_still_print_only_the_document() {
    let env = TestEnv::new();
    let run = env.race().json().quiet().buyers(2).delay("0..1").run();
    run.assert_success().assert_status("ok");
}
