//! `--seed` replays every buyer's simulated network delays.

mod common;
use common::TestEnv;
use serde_json::Value;

fn delays_by_buyer(report: &Value) -> Vec<(u64, Value)> {
    let mut delays: Vec<(u64, Value)> = report["buyers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["buyer"].as_u64().unwrap(), b["delays_ms"].clone()))
        .collect();
    delays.sort_by_key(|(buyer, _)| *buyer);
    delays
}

#[test]
fn the_same_seed_gives_every_buyer_the_same_delays() {
    let env = TestEnv::new();
    let args = [
        "--seed",
        "42",
        "--buyers",
        "5",
        "--per-buyer",
        "2",
        "--tickets",
        "10",
        "--delay-ms",
        "1..40",
    ];
    let (first_run, first) = env.run_json(&args);
    let (second_run, second) = env.run_json(&args);
    first_run.assert_code(0);
    second_run.assert_code(0);
    assert_eq!(first["settings"]["seed"], 42);
    let first = delays_by_buyer(&first);
    assert_eq!(first, delays_by_buyer(&second));
    // Buyers get different streams from the one seed.
    assert_ne!(first[0].1, first[1].1);
    assert!(first.iter().all(|(_, d)| d.as_array().unwrap().len() == 2));
}

#[test]
fn different_seeds_give_different_delays() {
    let env = TestEnv::new();
    let (_, a) = env.run_json(&[
        "--seed",
        "1",
        "--buyers",
        "4",
        "--delay-ms",
        "1..1000",
        "--no-lock",
    ]);
    let (_, b) = env.run_json(&[
        "--seed",
        "2",
        "--buyers",
        "4",
        "--delay-ms",
        "1..1000",
        "--no-lock",
    ]);
    assert_ne!(delays_by_buyer(&a), delays_by_buyer(&b));
}

#[test]
fn a_run_without_seed_prints_the_seed_to_replay_it() {
    let env = TestEnv::new();
    let run = env.run(&["--buyers", "2", "--delay-ms", "0..1", "-q"]);
    run.assert_code(0).assert_stdout_contains(", seed ");
}
