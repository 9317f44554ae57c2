//! Hundreds of seeded `--chaos` runs, each SIGKILLing random buyers at random moments and at
//! every step of a purchase; after each one the invariants must hold.

mod common;
use common::TestEnv;
use serde_json::Value;

const RUNS: u64 = 300;

/// What one chaos run killed, for the totals printed at the end.
#[derive(Default)]
struct Kills {
    total: u64,
    at_steps: Vec<String>,
    at_times: u64,
    unconfirmed_sales: u64,
}

/// Runs seed `seed` and checks every invariant; returns what was killed.
fn chaos_run(seed: u64) -> Kills {
    let env = TestEnv::new();
    let mut race = env
        .race()
        .chaos()
        .check()
        .json()
        .seed(seed)
        .buyers(3 + seed as u32 % 5)
        .tickets(1 + seed % 4)
        .per_buyer(1 + seed % 3)
        .delay("0..2");
    if seed % 2 == 1 {
        race = race.no_fsync();
    }
    let run = race.run();
    run.assert_success().assert_every_ticket_is_accounted_for();
    // Every sale in the log but never confirmed belongs to a killed buyer, and every buyer
    // that died was killed by the chaos.
    for buyer in run.buyers() {
        let killed = buyer["ending"]["how"] == "killed";
        let unconfirmed = buyer["logged"].as_u64() > buyer["confirmed"].as_u64();
        run.assert_that(killed || !unconfirmed, format!("unexplained sale: {buyer}"))
            .assert_that(
                !killed || buyer["ending"]["cause"] == "chaos",
                format!("killed by something else: {buyer}"),
            );
    }

    let mut kills = Kills {
        unconfirmed_sales: run.report()["tally"]["unconfirmed"].as_u64().unwrap(),
        ..Kills::default()
    };
    let victims = run.report()["victims"].as_array().unwrap();
    for victim in victims.iter().filter(|v| v["died"] == true) {
        kills.total += 1;
        match &victim["kill"] {
            Value::Object(kill) if kill["at"] == "step" => kills
                .at_steps
                .push(kill["step"].as_str().unwrap().to_string()),
            _ => kills.at_times += 1,
        }
    }
    kills
}

#[test]
fn hundreds_of_chaos_runs_never_oversell_and_account_for_every_ticket() {
    // Each run is mostly process start-up and waits on its buyers: one thread per core the
    // machine has (one, or many) keeps them all busy.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let all: Vec<Kills> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|worker| {
                scope.spawn(move || {
                    (0..RUNS)
                        .filter(|seed| seed % threads == worker)
                        .map(chaos_run)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let total: u64 = all.iter().map(|k| k.total).sum();
    let at_times: u64 = all.iter().map(|k| k.at_times).sum();
    let unconfirmed: u64 = all.iter().map(|k| k.unconfirmed_sales).sum();
    let steps: Vec<&String> = all.iter().flat_map(|k| &k.at_steps).collect();
    eprintln!(
        "{RUNS} chaos runs on {threads} threads: {total} buyers killed ({} at a step, \
         {at_times} at a random moment), {unconfirmed} sales committed by a buyer that died \
         before confirming; 0 anomalies",
        steps.len()
    );
    assert!(total >= RUNS / 2, "too few kills to mean anything: {total}");
    for step in [
        "before_lock",
        "lock_held",
        "order_logged",
        "temp_written",
        "data_written",
        "released",
    ] {
        assert!(
            steps.iter().any(|s| s.as_str() == step),
            "no run killed a buyer at {step}"
        );
    }
    assert!(at_times > 0, "no run killed a buyer at a random moment");
}
