//! `--trace FILE` writes the race as a Chrome trace: a lane per buyer, the lock as spans.
//! Mutual exclusion and the no-lock race are checked from the trace file alone.

use crate::common::exit::ENVIRONMENT;
use crate::common::{Race, Run, TestEnv};
use serde_json::Value;
use std::collections::BTreeSet;

/// Runs `race` with `--trace` and `--json`; returns the run and the parsed trace.
fn traced(env: &TestEnv, race: Race) -> (Run, Value) {
    let path = env.path("trace.json");
    let run = race.trace(&path).json().succeeds();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("no trace file: {e}{}", run.context()));
    let trace = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the trace is not JSON: {e}\n{text}"));
    (run, trace)
}

fn events<'a>(trace: &'a Value, name: &str) -> Vec<&'a Value> {
    trace["traceEvents"]
        .as_array()
        .expect("traceEvents is an array")
        .iter()
        .filter(|e| e["name"] == name)
        .collect()
}

fn ts(event: &Value) -> u64 {
    event["ts"].as_u64().expect("ts")
}

#[test]
fn the_trace_has_one_named_lane_per_buyer_process() {
    let env = TestEnv::new();
    let (run, trace) = traced(&env, env.race().buyers(3).delay("0..2"));
    for event in trace["traceEvents"].as_array().unwrap() {
        let phase = event["ph"].as_str().unwrap_or_default();
        let well_formed = ["M", "X", "i"].contains(&phase)
            && event["pid"].is_u64()
            && event["name"].is_string()
            && (phase == "M" || event["ts"].is_u64())
            && (phase != "X" || event["dur"].is_u64());
        run.assert_that(well_formed, format!("a malformed trace event: {event}"));
    }
    let names = events(&trace, "process_name");
    run.assert_that(names.len() == 3, "not one lane per buyer");
    for buyer in run.buyers() {
        let named = names.iter().any(|e| {
            e["pid"] == buyer["pid"] && e["args"]["name"] == format!("buyer-{}", buyer["buyer"])
        });
        run.assert_that(named, format!("no lane named for {buyer}"));
    }
}

#[test]
fn in_a_locked_run_no_two_critical_sections_overlap() {
    let env = TestEnv::new();
    let (run, trace) = traced(&env, env.race().buyers(6).tickets(4).delay("1..5"));
    let mut held: Vec<(u64, u64)> = events(&trace, "critical section")
        .iter()
        .map(|e| (ts(e), ts(e) + e["dur"].as_u64().unwrap()))
        .collect();
    held.sort_unstable();
    run.assert_that(held.len() == 6, "not one critical section per buyer")
        .assert_that(
            held.windows(2).all(|pair| pair[0].1 <= pair[1].0),
            format!("overlapping critical sections: {held:?}"),
        )
        .assert_that(!events(&trace, "lock wait").is_empty(), "nobody waited");
}

#[test]
fn in_a_no_lock_run_several_buyers_read_before_the_first_write() {
    let env = TestEnv::new();
    let race = env.race().no_lock().buyers(4).tickets(1).delay("200..300");
    let (run, trace) = traced(&env, race);
    let first_write = events(&trace, "wrote").into_iter().map(ts).min();
    let early_readers: BTreeSet<u64> = events(&trace, "read")
        .into_iter()
        .filter(|e| Some(ts(e)) < first_write)
        .map(|e| e["pid"].as_u64().unwrap())
        .collect();
    run.assert_that(first_write.is_some(), "nobody wrote")
        .assert_that(
            early_readers.len() == 4,
            format!("only {early_readers:?} read before the first write"),
        )
        .assert_that(
            events(&trace, "critical section").is_empty(),
            "a critical section without the lock",
        );
}

#[test]
fn a_trace_path_in_a_missing_directory_fails_before_the_race() {
    let env = TestEnv::new();
    env.race()
        .trace(&env.path("no/such/dir/trace.json"))
        .delay("0..0")
        .run()
        .assert_code(ENVIRONMENT)
        .assert_stderr_contains("failed to create trace file")
        .assert_data_untouched();
}
