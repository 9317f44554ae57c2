//! `explore --power-cut`: one real race recorded, every crash state a persistence model allows
//! recovered by the next run. The durable protocol survives every one; without fsync, or with
//! a sync planted out, the explorer finds the states that lose a confirmed sale.

use serde_json::Value;

use crate::common::{Run, exit, grab_tickets};

fn power_cut(extra: &[&str], planted: Option<&str>) -> (crate::common::Run, Value) {
    let mut race = grab_tickets()
        .args([
            "explore",
            "--power-cut",
            "--buyers",
            "2",
            "--tickets",
            "2",
            "--json",
        ])
        .args(extra);
    if let Some(bug) = planted {
        race = race.env("GRAB_TICKETS_PLANTED_BUG", bug);
    }
    let run = race.run();
    let json: Value = serde_json::from_str(run.stdout()).unwrap_or_else(|e| {
        panic!("not JSON ({e}):\n{}", run.context());
    });
    (run, json)
}

/// Some crash state lost a sale a buyer had confirmed.
fn assert_a_sale_is_lost(run: &Run, json: &Value) {
    assert!(
        problems(json).iter().any(|p| p == "sale_lost"),
        "{}",
        run.context()
    );
}

fn problems(json: &Value) -> Vec<String> {
    json["models"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["vulnerabilities"].as_array().into_iter().flatten())
        .flat_map(|v| v["problems"].as_array().into_iter().flatten())
        .map(|p| p["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine: a process takes about 0.3 s to start (Linux: 1 ms), so replaying every crash state outlasts the 60 s backstop"
)]
fn the_durable_protocol_recovers_from_every_crash_state_under_both_models() {
    let (run, json) = power_cut(&[], None);
    run.assert_code(exit::OK);
    let models = json["models"].as_array().expect("models");
    assert_eq!(models.len(), 2, "{}", run.context());
    for model in models {
        assert!(model["crash_states"].as_u64().unwrap() > 100, "{model}");
        assert_eq!(model["vulnerable"], 0, "{model}");
    }
    assert_eq!(json["vulnerable"], 0);
    let confirmed = json["operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["op"]["op"] == "confirmed")
        .count();
    assert_eq!(confirmed, 2, "{}", run.context());
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine: a process takes about 0.3 s to start (Linux: 1 ms), so replaying every crash state outlasts the 60 s backstop"
)]
fn without_fsync_a_power_cut_loses_a_confirmed_sale() {
    let (run, json) = power_cut(&["--no-fsync"], None);
    run.assert_code(exit::CHECK_FAILED);
    assert!(
        json["vulnerable"].as_u64().unwrap() > 0,
        "{}",
        run.context()
    );
    assert_a_sale_is_lost(&run, &json);
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine: a process takes about 0.3 s to start (Linux: 1 ms), so replaying every crash state outlasts the 60 s backstop"
)]
fn a_buyer_that_confirms_before_its_fsync_is_reported_vulnerable() {
    let (run, json) = power_cut(&["--model", "ordered"], Some("confirm-before-sync"));
    run.assert_code(exit::CHECK_FAILED);
    assert_a_sale_is_lost(&run, &json);
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine: a process takes about 0.3 s to start (Linux: 1 ms), so replaying every crash state outlasts the 60 s backstop"
)]
fn the_text_tells_each_vulnerable_state_as_a_story() {
    let run = grab_tickets()
        .args([
            "explore",
            "--power-cut",
            "--buyers",
            "2",
            "--tickets",
            "2",
            "--no-fsync",
        ])
        .args(["--model", "weak"])
        .run();
    run.assert_code(exit::CHECK_FAILED);
    let out = run.stdout();
    for expected in [
        "crash states",
        "Vulnerable under the weak model",
        "What went wrong",
        "(lost)",
    ] {
        assert!(
            out.contains(expected),
            "{expected:?} missing:\n{}",
            run.context()
        );
    }
}
