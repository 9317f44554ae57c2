//! Hundreds of seeded `--chaos` runs, each SIGKILLing random buyers at every step of a
//! purchase; after each one the invariants must hold. And a seed replays its kills.

mod common;
use common::{TestEnv, tally};
use serde_json::Value;

const RUNS: u64 = 300;

/// What one chaos run killed, for the totals printed at the end.
#[derive(Default)]
struct Kills {
    total: u64,
    at_steps: Vec<String>,
    unconfirmed_sales: u64,
}

/// Runs seed `seed` and checks every invariant; returns what was killed.
fn chaos_run(seed: u64) -> Kills {
    let env = TestEnv::new();
    let seed_text = seed.to_string();
    let buyers = (3 + seed % 5).to_string();
    let tickets = (1 + seed % 4).to_string();
    let per_buyer = (1 + seed % 3).to_string();
    let mut args = vec![
        "--chaos",
        "--check",
        "--seed",
        &seed_text,
        "--buyers",
        &buyers,
        "--tickets",
        &tickets,
        "--per-buyer",
        &per_buyer,
        "--delay-ms",
        "0..2",
    ];
    if seed % 2 == 1 {
        args.push("--no-fsync");
    }
    let (run, report) = env.run_json(&args);
    run.assert_code(0);
    let context = run.context();

    // The data file is complete JSON and agrees with the report.
    let (initial, confirmed, remaining, logged) = tally(&report);
    assert_eq!(env.ticket_num(), remaining, "{context}");
    // Nothing oversold, nothing lost: every ticket is in stock or in the order log...
    assert!(confirmed <= initial, "oversold{context}");
    assert_eq!(
        remaining + logged,
        initial,
        "a ticket is unaccounted for{context}"
    );
    assert_eq!(report["tally"]["lost_updates"], 0, "{context}");
    assert_eq!(report["verdict"]["status"], "ok", "{context}");
    // ...and every sale in the log but never confirmed belongs to a killed buyer.
    for buyer in report["buyers"].as_array().unwrap() {
        if buyer["logged"].as_u64() > buyer["confirmed"].as_u64() {
            assert_eq!(
                buyer["ending"]["how"], "killed",
                "unexplained sale{context}"
            );
        }
        if buyer["ending"]["how"] == "killed" {
            assert_eq!(buyer["ending"]["cause"], "chaos", "{context}");
        }
    }
    // No temp file survives; the lock file stays (it is never deleted).
    let leftovers: Vec<String> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "left behind {leftovers:?}{context}");
    assert!(env.path("data.json.lock").exists());

    let mut kills = Kills {
        unconfirmed_sales: report["tally"]["unconfirmed"].as_u64().unwrap(),
        ..Kills::default()
    };
    for victim in report["victims"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["died"] == true)
    {
        kills.total += 1;
        assert_eq!(victim["kill"]["at"], "step", "{context}");
        kills
            .at_steps
            .push(victim["kill"]["step"].as_str().unwrap().to_string());
    }
    // Every death is told: a `killed` event from the victim, and its lane ends in K.
    let killed_events = report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "killed")
        .count() as u64;
    assert_eq!(killed_events, kills.total, "{context}");
    kills
}

#[test]
fn hundreds_of_chaos_runs_never_oversell_and_account_for_every_ticket() {
    // Two threads: the machine has two cores, and each run is mostly process start-up.
    let halves: Vec<Vec<Kills>> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..2)
            .map(|half| {
                scope.spawn(move || (0..RUNS).filter(|s| s % 2 == half).map(chaos_run).collect())
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let all: Vec<&Kills> = halves.iter().flatten().collect();
    let total: u64 = all.iter().map(|k| k.total).sum();
    let unconfirmed: u64 = all.iter().map(|k| k.unconfirmed_sales).sum();
    let steps: Vec<&String> = all.iter().flat_map(|k| &k.at_steps).collect();
    eprintln!(
        "{RUNS} chaos runs: {total} buyers killed, {unconfirmed} sales committed by a buyer that \
         died before confirming; 0 anomalies"
    );
    assert!(total >= RUNS / 2, "too few kills to mean anything: {total}");
    for step in [
        "before_lock",
        "lock_held",
        "in_delay",
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
}

/// A planned death: buyer, step, attempt, and whether it died there.
type Planned = (u64, String, u64, bool);

/// Who died where, and the `killed` events as (buyer, step).
fn deaths(report: &Value) -> (Vec<Planned>, Vec<(u64, String)>) {
    let planned = report["victims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["buyer"].as_u64().unwrap(),
                v["kill"]["step"].as_str().unwrap().to_string(),
                v["kill"]["attempt"].as_u64().unwrap(),
                v["died"].as_bool().unwrap(),
            )
        })
        .collect();
    let mut told: Vec<(u64, String)> = report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "killed")
        .map(|e| {
            (
                e["buyer"].as_u64().unwrap(),
                e["step"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    told.sort();
    (planned, told)
}

#[test]
fn the_same_seed_kills_the_same_buyers_at_the_same_steps() {
    // With a ticket for every buyer, every victim reaches its step whatever order the kernel
    // lets them in: the deaths depend on the seed alone.
    for seed in ["4", "11"] {
        let args = [
            "--chaos",
            "--seed",
            seed,
            "--buyers",
            "9",
            "--tickets",
            "9",
            "--delay-ms",
            "0..3",
        ];
        let env = TestEnv::new();
        let (first_run, first) = env.run_json(&args);
        let (second_run, second) = env.run_json(&args);
        first_run.assert_code(0);
        second_run.assert_code(0);
        let (planned, told) = deaths(&first);
        assert!(
            !planned.is_empty(),
            "seed {seed} kills nobody{}",
            first_run.context()
        );
        assert!(planned.iter().all(|d| d.3), "{}", first_run.context());
        assert_eq!(
            (planned, told),
            deaths(&second),
            "{}{}",
            first_run.context(),
            second_run.context()
        );
    }
}
