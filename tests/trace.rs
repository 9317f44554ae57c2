//! `--trace FILE` writes the race as a Chrome trace: a lane per buyer, the lock as spans.
//! Mutual exclusion and the no-lock race are checked from the trace file alone.

mod common;
use common::TestEnv;
use serde_json::Value;

/// Runs with `--trace` and returns the parsed trace and the `--json` report.
fn traced(env: &TestEnv, args: &[&str]) -> (Value, Value) {
    let path = env.path("trace.json");
    let mut all = vec!["--trace", path.to_str().unwrap()];
    all.extend_from_slice(args);
    let (run, report) = env.run_json(&all);
    run.assert_code(0);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("no trace file: {e}{}", run.context()));
    let trace = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the trace is not JSON: {e}\n{text}"));
    (trace, report)
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
    let (trace, report) = traced(&env, &["--buyers", "3", "--delay-ms", "0..2"]);
    for event in trace["traceEvents"].as_array().unwrap() {
        let phase = event["ph"].as_str().expect("every event has a phase");
        assert!(["M", "X", "i"].contains(&phase), "{event}");
        assert!(
            event["pid"].is_u64() && event["name"].is_string(),
            "{event}"
        );
        if phase != "M" {
            assert!(event["ts"].is_u64(), "{event}");
        }
        if phase == "X" {
            assert!(event["dur"].is_u64(), "{event}");
        }
    }
    let names = events(&trace, "process_name");
    for buyer in report["buyers"].as_array().unwrap() {
        let lane = names
            .iter()
            .find(|e| e["pid"] == buyer["pid"])
            .unwrap_or_else(|| panic!("no lane for {buyer}"));
        assert_eq!(lane["args"]["name"], format!("buyer-{}", buyer["buyer"]));
    }
    assert_eq!(names.len(), 3);
}

#[test]
fn in_a_locked_run_no_two_critical_sections_overlap() {
    let env = TestEnv::new();
    let (trace, _) = traced(
        &env,
        &["--buyers", "6", "--tickets", "4", "--delay-ms", "1..5"],
    );
    let mut held: Vec<(u64, u64)> = events(&trace, "critical section")
        .iter()
        .map(|e| (ts(e), ts(e) + e["dur"].as_u64().unwrap()))
        .collect();
    assert_eq!(held.len(), 6, "one critical section per buyer: {held:?}");
    held.sort_unstable();
    for pair in held.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "overlapping sections: {pair:?}");
    }
    assert!(!events(&trace, "lock wait").is_empty(), "someone waited");
}

#[test]
fn in_a_no_lock_run_several_buyers_read_before_the_first_write() {
    let env = TestEnv::new();
    let (trace, _) = traced(
        &env,
        &[
            "--no-lock",
            "--buyers",
            "4",
            "--tickets",
            "1",
            "--delay-ms",
            "200..300",
        ],
    );
    let first_write = events(&trace, "wrote").into_iter().map(ts).min().unwrap();
    let mut early_readers: Vec<u64> = events(&trace, "read")
        .into_iter()
        .filter(|e| ts(e) < first_write)
        .map(|e| e["pid"].as_u64().unwrap())
        .collect();
    early_readers.sort_unstable();
    early_readers.dedup();
    assert_eq!(early_readers.len(), 4, "{trace}");
    assert!(events(&trace, "critical section").is_empty());
}

#[test]
fn a_trace_path_in_a_missing_directory_fails_before_the_race() {
    let env = TestEnv::new();
    let before = env.data_bytes();
    let missing = env.path("no/such/dir/trace.json");
    let run = env.run(&["--trace", missing.to_str().unwrap(), "--delay-ms", "0..0"]);
    run.assert_code(4)
        .assert_stderr_contains("failed to create trace file");
    assert_eq!(env.data_bytes(), before, "the data file was not touched");
}
