//! `--seed` replays every buyer's simulated network delays, and a run without one prints the
//! seed it drew so that it can be replayed.

use crate::common::{Race, Run, TestEnv};
use serde_json::Value;
use std::collections::BTreeMap;

/// Each buyer's `delays_ms` from the `--json` report, by buyer number.
fn reported_delays(run: &Run) -> BTreeMap<u64, Value> {
    run.buyers()
        .iter()
        .map(|b| (b["buyer"].as_u64().unwrap(), b["delays_ms"].clone()))
        .collect()
}

/// Each buyer's delays as the step-by-step narration (`--verbose`) shows them
/// ("buyer-2 network delay 136 ms ..."), by buyer name.
fn narrated_delays(run: &Run) -> BTreeMap<String, Vec<u64>> {
    let mut delays: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for line in run.stdout().lines() {
        let narrated = line
            .split_once(" network delay ")
            .and_then(|(before, after)| {
                let buyer = before.split_whitespace().last()?;
                let ms = after.strip_suffix(" ms ...")?.parse().ok()?;
                Some((buyer.to_string(), ms))
            });
        if let Some((buyer, ms)) = narrated {
            delays.entry(buyer).or_default().push(ms);
        }
    }
    delays
}

/// The seed the headline names on its second line: "--seed 7 replays the delays ...".
fn headline_seed(run: &Run) -> u64 {
    let headline = run.stdout().lines().nth(1).unwrap_or_default();
    headline
        .strip_prefix("--seed ")
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no seed in the headline{}", run.context()))
}

/// Five buyers who want two tickets each, with delays drawn from 1..40 ms.
fn two_tickets_each(env: &TestEnv) -> Race {
    env.race().buyers(5).per_buyer(2).tickets(10).delay("1..40")
}

#[test]
fn the_same_seed_gives_every_buyer_the_same_delays() {
    let env = TestEnv::new();
    let first = two_tickets_each(&env).seed(42).json().succeeds();
    let second = two_tickets_each(&env).seed(42).json().succeeds();
    let delays = reported_delays(&first);
    first
        .assert_report("/settings/seed", 42)
        .assert_that(delays.len() == 5, "not one entry per buyer")
        .assert_that(
            delays.values().all(|d| d.as_array().unwrap().len() == 2),
            "a buyer did not have two delays",
        )
        // Buyers get different streams from the one seed.
        .assert_that(delays[&1] != delays[&2], "buyers 1 and 2 share delays");
    second.assert_that(
        reported_delays(&second) == delays,
        format!("the delays differ from the first run's {delays:?}"),
    );
}

#[test]
fn different_seeds_give_different_delays() {
    let env = TestEnv::new();
    let with_seed = |seed| {
        env.race()
            .no_lock()
            .buyers(4)
            .delay("1..1000")
            .seed(seed)
            .json()
            .succeeds()
    };
    let (one, two) = (with_seed(1), with_seed(2));
    two.assert_that(
        reported_delays(&one) != reported_delays(&two),
        "seeds 1 and 2 gave the same delays",
    );
}

#[test]
fn a_run_without_seed_prints_the_seed_that_replays_its_delays() {
    let env = TestEnv::new();
    // Three buyers, two purchases each, without the lock so the delays overlap: six delays
    // from 1..100 ms (a delay of 0 is not narrated), which another seed could not repeat
    // by chance.
    let race = || {
        env.race()
            .verbose()
            .no_lock()
            .buyers(3)
            .tickets(10)
            .per_buyer(2)
            .delay("1..100")
    };
    let first = race().succeeds();
    let seed = headline_seed(&first);
    let delays = narrated_delays(&first);
    first.assert_that(
        delays.len() == 3 && delays.values().all(|d| d.len() == 2),
        format!("expected two delays for each of three buyers, got {delays:?}"),
    );
    let replay = race().seed(seed).succeeds();
    replay
        .assert_that(
            headline_seed(&replay) == seed,
            "the replay names another seed",
        )
        .assert_that(
            narrated_delays(&replay) == delays,
            format!("seed {seed} did not replay the delays {delays:?}"),
        );
}

#[test]
fn the_headline_says_what_the_seed_replays_and_what_it_cannot() {
    let env = TestEnv::new();
    let plain = env.race().buyers(2).delay("1..3").seed(5).succeeds();
    plain.assert_that(
        plain.stdout().lines().nth(1)
            == Some("--seed 5 replays the delays (1..3 ms), not who the kernel lets in first"),
        "the headline's second line",
    );
    let chaos = env
        .race()
        .buyers(2)
        .delay("1..3")
        .seed(5)
        .chaos()
        .succeeds();
    chaos.assert_stdout_contains("--seed 5 replays the delays (1..3 ms) and kill points, not who");
}
