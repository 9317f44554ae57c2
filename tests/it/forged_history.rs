//! History another program forged is named, never believed: an entry that jumps the ledger's
//! seq is reported as a protocol violation with its line (exit 3), never counted as a sale or
//! as tickets oversold, and the next run is not haunted by it. The run-name rule the protocol
//! gives (16 lowercase hex digits are grab-tickets') is the one the code applies.

use crate::common::exit::BAD_DATA;
use crate::common::process::Live;
use crate::common::{Race, Run, TestEnv};
use crate::shared_ledger::{hand_sale, ledger, wait_for_sales};
use serde_json::Value;

/// A locked race of 40 tickets (as `shape` asks it to print) during which the forger appends
/// its one sale.
fn race_with_a_sale_by(env: &TestEnv, jump: u64, run: &str, shape: fn(Race) -> Race) -> Run {
    let race = env
        .race()
        .tickets(40)
        .buyers(2)
        .per_buyer("all")
        // About a second of selling in which the forged sale lands, however slowly Python
        // starts on a loaded machine.
        .delay("20..30");
    let live: Live = shape(race).spawn();
    wait_for_sales(env, 2);
    // A careful forger: it also writes the data file to match, so only the seq gives it away.
    hand_sale(env, jump, serde_json::json!({ "run": run }));
    live.finish()
}

/// The line (from 1) of the forged entry in the order log.
fn line_of(env: &TestEnv, run: &str) -> u64 {
    let at = ledger(env)
        .iter()
        .position(|e| e["run"] == run)
        .expect("the forged entry is in the order log");
    at as u64 + 1
}

#[test]
fn an_entry_that_jumps_the_seq_is_a_protocol_violation_not_an_oversell() {
    let env = TestEnv::new();
    let run = race_with_a_sale_by(&env, 1_000_000, "py-forger", Race::json);
    let line = line_of(&env, "py-forger");
    run.assert_code(BAD_DATA)
        .assert_status("protocol_violation")
        .assert_report("/tally/oversold", 0)
        .assert_report("/tally/sold_by_others", 0)
        .assert_report("/tally/forged", 1)
        .assert_report("/forged/0/line", line)
        .assert_report("/forged/0/entry/run", "py-forger")
        .assert_report("/others", Value::Array(Vec::new()))
        .assert_stderr_contains(&format!("line {line} of "))
        .assert_stderr_contains("broke the lock protocol");
    // Every sale this run confirmed is in the ledger, chained after the forgery.
    let confirmed = run.report()["tally"]["confirmed"].as_u64().unwrap();
    assert_eq!(
        confirmed,
        39,
        "the buyers sold every real ticket{}",
        run.context()
    );

    // Told in words too, with where it is, and never as overselling.
    let env = TestEnv::new();
    let text = race_with_a_sale_by(&env, 1_000_000, "py-forger", |race| race.lang("en"));
    let line = line_of(&env, "py-forger");
    text.assert_code(BAD_DATA)
        .assert_stdout_contains("PROTOCOL VIOLATION")
        .assert_stdout_contains(&format!("line {line} of the order log jumps to #"))
        .assert_stdout_contains("program 'py-forger'")
        .assert_stdout_lacks("OVERSOLD")
        .assert_stdout_lacks("LOST UPDATES");
    // The forgery stays in the past: the next run's window starts after it and is OK.
    env.race()
        .keep_stock()
        .buyers(2)
        .json()
        .run()
        .assert_success()
        .assert_status("ok");
}

#[test]
fn a_sale_one_past_the_top_is_believed_and_uppercase_hex_is_another_program() {
    // Sixteen hex digits in uppercase are not a grab-tickets run id (those are lowercase):
    // the sale is another program's, and as it keeps the chain the run is OK.
    let env = TestEnv::new();
    race_with_a_sale_by(&env, 1, "0123456789ABCDEF", Race::json)
        .assert_success()
        .assert_status("ok")
        .assert_report("/tally/sold_by_others", 1)
        .assert_report("/tally/forged", 0)
        .assert_report("/others/0/run", "0123456789ABCDEF")
        .assert_report("/others/0/grab_tickets", false)
        .assert_tickets_left(0);
}
