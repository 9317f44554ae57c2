//! History another program forged is named, never believed: an entry that jumps the ledger's
//! seq is reported as a protocol violation with its line (exit 3), never counted as a sale or
//! as tickets oversold, and the next run is not haunted by it. The run-name rule the protocol
//! gives (16 lowercase hex digits are grab-tickets') is the one the code applies.

use crate::common::exit::BAD_DATA;
use crate::common::process::Live;
use crate::common::{Race, Run, TestEnv};
use crate::shared_ledger::{hand_edit, hand_sale, ledger, wait_for_sales};
use serde_json::Value;
use std::io::Write;

/// A locked race of 40 tickets (as `shape` asks it to print) during which `outsider` acts.
fn race_during(env: &TestEnv, shape: fn(Race) -> Race, outsider: impl FnOnce(&TestEnv)) -> Run {
    let race = env
        .race()
        .tickets(40)
        .buyers(2)
        .per_buyer("all")
        // Sales slow enough that the test takes the lock before the stock is gone; Python's
        // start then waits under that lock (see `hand_sale`), not against the race.
        .delay("20..30");
    let live: Live = shape(race).spawn();
    wait_for_sales(env, 2);
    outsider(env);
    live.finish()
}

/// A locked race during which the forger appends its one sale.
fn race_with_a_sale_by(env: &TestEnv, jump: u64, run: &str, shape: fn(Race) -> Race) -> Run {
    // A careful forger: it also writes the data file to match, so only the seq gives it away.
    race_during(env, shape, |env| {
        hand_sale(env, jump, serde_json::json!({ "run": run }))
    })
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

/// The same fact the database store reports for its stock row (tests/it/pg_limits.rs): a
/// count changed with no entry in the ledger is a change outside the protocol, exit 3, never
/// a verdict drawn from it.
#[test]
fn a_stock_raised_by_hand_mid_race_is_a_change_outside_the_protocol() {
    let env = TestEnv::new();
    // Under the buyers' lock (held by the test, see `hand`), raises `ticket_num` by hand and
    // writes no entry.
    race_during(&env, Race::json, |env| hand_edit(env, 5))
        .assert_code(BAD_DATA)
        .assert_status("changed_outside")
        .assert_report("/tally/changed_outside", 1)
        .assert_stderr_contains("was changed without following the lock protocol");
}

/// A finished run that sold one of five tickets, so the order log holds a restock and an
/// order; returns the seq they left, the one a hand-written entry continues from.
fn one_sale_of_five(env: &TestEnv) -> u64 {
    env.race()
        .tickets(5)
        .buyers(1)
        .per_buyer("1")
        .run()
        .assert_success();
    env.data_json()["seq"].as_u64().unwrap()
}

/// Appends `json` to the order log as one entry, padded to 160 bytes with spaces.
fn append_entry(env: &TestEnv, json: &str) {
    append_padded(env, json, b' ');
}

/// Appends `json` to the order log as one entry, padded to 160 bytes with `pad`.
fn append_padded(env: &TestEnv, json: &str, pad: u8) {
    let mut line = json.as_bytes().to_vec();
    line.resize(159, pad);
    line.push(b'\n');
    std::fs::OpenOptions::new()
        .append(true)
        .open(env.order_log())
        .unwrap()
        .write_all(&line)
        .unwrap();
}

/// docs/protocol.md: an entry of a kind this version does not know is settled by its numbers
/// like any entry. At the log's end, its writer killed before its swap, it is rolled forward
/// (it used to halt every buyer); and a data file that disagrees with its `after` is a change
/// outside the protocol, whatever the kind (it used to be believed).
#[test]
fn an_entry_of_an_unknown_kind_is_settled_by_its_numbers() {
    let env = TestEnv::new();
    let seq = one_sale_of_five(&env);
    // Another program's "refund" puts a ticket back, and dies before it writes the data file.
    append_entry(
        &env,
        &format!(
            r#"{{"seq":{},"kind":"refund","run":"py-shop","buyer":0,"pid":1,"before":4,"after":5}}"#,
            seq + 1
        ),
    );
    env.race()
        .keep_stock()
        .buyers(2)
        .per_buyer("all")
        .json()
        .run()
        .assert_success()
        .assert_status("ok")
        .assert_report("/tally/initial", 5)
        .assert_report("/tally/confirmed", 5)
        .assert_tickets_left(0);
    // Now it lands with the data file saying something else: changed outside the protocol.
    let seq = env.data_json()["seq"].as_u64().unwrap();
    append_entry(
        &env,
        &format!(
            r#"{{"seq":{},"kind":"refund","run":"py-shop","buyer":0,"pid":1,"before":0,"after":1}}"#,
            seq + 1
        ),
    );
    std::fs::write(
        &env.data,
        format!("{{\"ticket_num\":9,\"seq\":{}}}\n", seq + 1),
    )
    .unwrap();
    env.race()
        .keep_stock()
        .buyers(2)
        .lang("en")
        .run()
        .assert_code(BAD_DATA)
        .assert_stderr_contains("says 9 tickets at #")
        .assert_stderr_contains("the data file was changed without following the lock protocol");
}

/// docs/protocol.md, "Numbers, keys and whitespace": a whole number is digits only and each
/// key counts once after unescaping; an entry that breaks either is unreadable, and at the
/// log's end it stops the next lock holder with its line named. Escaped key names and tab
/// padding are read as the text says.
#[test]
fn entries_are_read_by_the_rules_the_protocol_states() {
    let entry = |seq: u64, seq_text: &str, extra: &str| {
        format!(
            r#"{{"seq":{seq_text},"kind":"restock","run":"py-shop","buyer":0,"pid":1,"before":4,"after":4{extra}}}"#
        )
        .replace("SEQ", &seq.to_string())
    };
    let refused = [
        ("-0", ""),
        ("SEQ.0", ""),
        ("3e0", ""),
        ("\"SEQ\"", ""),
        ("SEQ", r#","seq":1"#),
        ("SEQ", r#","s\u0065q":1"#),
    ];
    for (seq_text, extra) in refused {
        let env = TestEnv::new();
        let seq = one_sale_of_five(&env) + 1;
        append_entry(&env, &entry(seq, seq_text, extra));
        env.race()
            .keep_stock()
            .lang("en")
            .run()
            .assert_code(BAD_DATA)
            .assert_stderr_contains("failed to parse order log")
            .assert_stderr_contains("at line 3");
    }
    // An escaped key and tabs for padding: a readable restock to 4, which the run adopts.
    let env = TestEnv::new();
    let seq = one_sale_of_five(&env) + 1;
    let escaped = entry(seq, "SEQ", "").replace(r#""seq""#, r#""s\u0065q""#);
    append_padded(&env, &escaped, b'\t');
    env.race()
        .keep_stock()
        .buyers(1)
        .per_buyer("1")
        .json()
        .run()
        .assert_success()
        .assert_report("/tally/initial", 4);
}
