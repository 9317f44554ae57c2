//! `--json` prints one document whose shape is documented in the README ("The --json
//! document"); scripts rely on it, so every key listed there is checked here.

mod common;
use common::TestEnv;
use serde_json::Value;

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[test]
fn the_json_report_has_the_documented_shape() {
    let env = TestEnv::new();
    let (run, report) = env.run_json(&["--buyers", "3", "--tickets", "2", "--delay-ms", "0..2"]);
    run.assert_code(0);
    assert_eq!(
        keys(&report),
        [
            "buyers",
            "events",
            "format",
            "interrupted",
            "other_runs",
            "race_ms",
            "recovered",
            "retries",
            "run",
            "settings",
            "tally",
            "verdict",
            "victims"
        ],
        "{}",
        run.context()
    );
    assert_eq!(report["format"], 1);
    assert_eq!(report["interrupted"], false);
    assert_eq!(report["victims"], serde_json::json!([]));
    assert!(report["run"].is_string() && report["race_ms"].is_number());
    assert_eq!(
        keys(&report["settings"]),
        [
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
            "tickets"
        ]
    );
    assert_eq!(
        keys(&report["tally"]),
        [
            "confirmed",
            "initial",
            "logged",
            "lost_updates",
            "oversold",
            "remaining",
            "sold_by_others",
            "unconfirmed",
            "unexplained"
        ]
    );
    assert_eq!(keys(&report["verdict"]), ["cause", "line", "status"]);
    let buyers = report["buyers"].as_array().expect("buyers is an array");
    assert_eq!(buyers.len(), 3);
    for buyer in buyers {
        assert_eq!(
            keys(buyer),
            [
                "buyer",
                "confirmed",
                "delays_ms",
                "ending",
                "lock_wait_us",
                "logged",
                "outcome",
                "pid",
                "retries",
                "searched"
            ]
        );
        assert_eq!(buyer["ending"]["how"], "finished");
    }
    assert!(report["recovered"].as_array().unwrap().is_empty());
    // The file store's values of the keys the database store added.
    assert_eq!(report["settings"]["store"], "file");
    assert_eq!(report["settings"]["database"], Value::Null);
    assert_eq!(report["settings"]["db_lock"], Value::Null);
    assert_eq!(report["settings"]["method"], "read_check_write");
    assert_eq!(report["other_runs"], serde_json::json!([]));
    assert_eq!(report["retries"], 0);
}

#[test]
fn every_event_has_a_buyer_a_pid_a_time_and_a_kind() {
    let env = TestEnv::new();
    let (run, report) = env.run_json(&["--buyers", "2", "--tickets", "1", "--delay-ms", "1..2"]);
    run.assert_code(0);
    let events = report["events"].as_array().expect("events is an array");
    let mut kinds: Vec<&str> = Vec::new();
    for event in events {
        for key in ["buyer", "pid", "t_us"] {
            assert!(event[key].is_u64(), "{key} in {event}");
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
        assert!(kinds.contains(&kind), "no {kind} event in {kinds:?}");
    }
}

#[test]
fn json_and_quiet_together_still_print_only_the_document() {
    let env = TestEnv::new();
    let (run, report) = env.run_json(&["-q", "--buyers", "2", "--delay-ms", "0..1"]);
    run.assert_code(0);
    assert_eq!(report["verdict"]["status"], "ok");
}
