//! Hundreds of seeded `--chaos` runs, each SIGKILLing random buyers at random moments and at
//! every step of a purchase; after each one the invariants must hold.

mod common;
use common::{TestEnv, tally};
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
    let at_times: u64 = all.iter().map(|k| k.at_times).sum();
    let unconfirmed: u64 = all.iter().map(|k| k.unconfirmed_sales).sum();
    let steps: Vec<&String> = all.iter().flat_map(|k| &k.at_steps).collect();
    eprintln!(
        "{RUNS} chaos runs: {total} buyers killed ({} at a step, {at_times} at a random moment), \
         {unconfirmed} sales committed by a buyer that died before confirming; 0 anomalies",
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
    assert!(at_times > 0);
}
