//! `explore --power-cut`: a real race recorded from each start (an empty directory, a
//! hand-written data.json, a used shop, that shop with its log deleted), every crash state a
//! persistence model allows recovered by the next run. The durable protocol survives every
//! one; without fsync, or with a sync planted out, the explorer finds the states that lose a
//! confirmed sale, under the model that allows them.

use serde_json::Value;

use crate::common::{Race, Run, exit, grab_tickets};

/// The explorer's power-cut mode on a race of two buyers for two tickets.
fn explorer() -> Race {
    grab_tickets().args(["explore", "--power-cut", "--buyers", "2", "--tickets", "2"])
}

fn power_cut(extra: &[&str], planted: Option<&str>) -> (Run, Value) {
    let mut race = explorer().args(["--json"]).args(extra);
    if let Some(bug) = planted {
        race = race.env("GRAB_TICKETS_PLANTED_BUG", bug);
    }
    let run = race.run();
    let json: Value = serde_json::from_str(run.stdout()).unwrap_or_else(|e| {
        panic!("not JSON ({e}):\n{}", run.context());
    });
    (run, json)
}

/// Each start's results under `model`.
fn under<'a>(json: &'a Value, model: &'a str) -> impl Iterator<Item = &'a Value> {
    let starts = json["starts"].as_array().expect("starts").iter();
    starts.flat_map(move |s| {
        let models = s["models"].as_array().expect("models").iter();
        models.filter(move |m| m["model"] == model)
    })
}

/// The kinds of problem found in the vulnerable states under `model`, from every start.
fn problems(json: &Value, model: &str) -> Vec<String> {
    under(json, model)
        .flat_map(|m| m["vulnerabilities"].as_array().into_iter().flatten())
        .flat_map(|v| v["problems"].as_array().into_iter().flatten())
        .map(|p| p["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Some crash state under `model` lost a sale a buyer had been told it bought.
fn assert_a_sale_is_lost(run: &Run, json: &Value, model: &str) {
    let kinds = problems(json, model);
    assert!(
        kinds.iter().any(|p| p == "sale_lost"),
        "{model}: no sale_lost among {kinds:?}\n{}",
        run.context()
    );
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine: a process takes about 0.3 s to start (Linux: 1 ms), so replaying every crash state outlasts the 60 s backstop"
)]
fn the_durable_protocol_recovers_from_every_crash_state_under_both_models() {
    let (run, json) = power_cut(&[], None);
    run.assert_code(exit::OK);
    assert_eq!(json["vulnerable"], 0, "{}", run.context());
    let starts: Vec<&str> = json["starts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["start"].as_str().unwrap())
        .collect();
    assert_eq!(
        starts,
        ["empty", "hand_written", "used_shop", "log_deleted"],
        "{}",
        run.context()
    );
    for model in ["weak", "ordered"] {
        for result in under(&json, model) {
            // The portable path renames the data file in (no exchange, no spare name), so
            // each start records fewer operations and builds fewer states.
            let floor = if cfg!(feature = "portable-unix") {
                50
            } else {
                100
            };
            assert!(result["crash_states"].as_u64().unwrap() > floor, "{result}");
            assert_eq!(result["vulnerable"], 0, "{result}");
        }
    }
    // The weak model really built torn writes (the used shop's log has entries across a
    // sector boundary), zero-filled growth and reordered operations.
    for what in ["torn", "zero_filled", "reordered"] {
        let counted: u64 = under(&json, "weak")
            .map(|m| m["counts"][what].as_u64().unwrap())
            .sum();
        assert!(counted > 0, "no {what} state\n{}", run.context());
    }
    for start in json["starts"].as_array().unwrap() {
        let ops = start["operations"].as_array().unwrap();
        let confirmed = ops.iter().filter(|s| s["op"]["op"] == "confirmed").count();
        assert_eq!(confirmed, 2, "{}", run.context());
    }
    // Every kind of call the races make on the shop's files is in their records, the lock
    // file's pid slot (a pwrite) too.
    let ops: Vec<&Value> = json["starts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["operations"].as_array().unwrap())
        .map(|s| &s["op"])
        .collect();
    let made = |op: &str, name: Option<&str>| {
        ops.iter()
            .any(|o| o["op"] == op && name.is_none_or(|n| o["name"] == n))
    };
    for (op, name) in [
        ("create", None),
        ("write", Some("data.json.lock")),
        ("write", None),
        ("append", Some("data.json.orders")),
        ("sync_file", Some("data.json.orders")),
        ("sync_dir", None),
        ("rename", None),
    ] {
        assert!(made(op, name), "no {op} {name:?}\n{}", run.context());
    }
    // Linux swaps the data file in by exchange and unlinks the old copy; the portable path
    // renames over it (the first restock renames on both).
    if !cfg!(feature = "portable-unix") {
        assert!(
            made("exchange", None) && made("unlink", None),
            "{}",
            run.context()
        );
    }
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine: a process takes about 0.3 s to start (Linux: 1 ms), so replaying every crash state outlasts the 60 s backstop"
)]
fn the_shipped_protocol_swaps_the_data_file_in_before_the_order_is_synced() {
    // Early lock release: a buyer's exchange comes before its fdatasync, and the explorer
    // finds that safe (above), because recovery takes the log as the truth.
    let (run, json) = power_cut(&["--model", "ordered"], None);
    run.assert_code(exit::OK);
    let ops = json["starts"][0]["operations"].as_array().unwrap();
    let first = |op: &str| ops.iter().position(|s| s["op"]["op"] == op);
    // Linux exchanges the new data file in; the portable path renames it over the old one.
    let swap = first("exchange").or_else(|| first("rename")).unwrap();
    assert!(swap < first("sync_file").unwrap(), "{}", run.context());
}

/// Under which persistence models a broken protocol loses a confirmed sale.
#[derive(Clone, Copy, Debug)]
enum LostUnder {
    BothModels,
    /// ext4's fdatasync of a new file commits the journal, and the file's name with it, so
    /// the ordered model keeps the sale.
    WeakOnly,
}

/// Each way to break the protocol (an option or a bug planted into the binary) and where the
/// explorer must find a lost sale.
const BROKEN: [(&[&str], Option<&str>, LostUnder); 4] = [
    (&["--no-fsync"], None, LostUnder::BothModels),
    (&[], Some("no-log-dir-sync"), LostUnder::WeakOnly),
    (&[], Some("confirm-before-sync"), LostUnder::BothModels),
    (&[], Some("sync-dir-not-log"), LostUnder::BothModels),
];

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine: a process takes about 0.3 s to start (Linux: 1 ms), so replaying every crash state outlasts the 60 s backstop"
)]
fn each_broken_protocol_loses_a_confirmed_sale_under_the_models_that_allow_it() {
    for (extra, planted, lost) in BROKEN {
        let (run, json) = power_cut(extra, planted);
        let case = format!("{extra:?} {planted:?}");
        run.assert_code(exit::CHECK_FAILED);
        assert!(
            json["vulnerable"].as_u64().unwrap() > 0,
            "{case}{}",
            run.context()
        );
        assert_a_sale_is_lost(&run, &json, "weak");
        let ordered_lost = problems(&json, "ordered").iter().any(|p| p == "sale_lost");
        match lost {
            LostUnder::BothModels => assert_a_sale_is_lost(&run, &json, "ordered"),
            LostUnder::WeakOnly => assert!(!ordered_lost, "{case}{}", run.context()),
        }
    }
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine: a process takes about 0.3 s to start (Linux: 1 ms), so replaying every crash state outlasts the 60 s backstop"
)]
fn the_text_tells_each_vulnerable_state_as_a_story_and_a_timeline() {
    let run = explorer()
        .args(["--no-fsync", "--model", "weak", "--lang", "en"])
        .run();
    run.assert_code(exit::CHECK_FAILED);
    for expected in [
        "crash states",
        "Vulnerable under the weak model",
        "was told at step",
        "was not yet flushed",
        "Timeline:",
        "(lost)",
        "What went wrong",
    ] {
        run.assert_stdout_contains(expected);
    }
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine: a process takes about 0.3 s to start (Linux: 1 ms), so replaying every crash state outlasts the 60 s backstop"
)]
fn the_story_is_told_in_chinese_too() {
    let run = explorer()
        .args(["--no-fsync", "--model", "ordered", "--lang", "zh"])
        .run();
    run.assert_code(exit::CHECK_FAILED);
    for expected in ["崩溃状态", "被告知", "时间线：", "（丢失）", "出了什么问题"]
    {
        run.assert_stdout_contains(expected);
    }
    for english in ["crash states", "Timeline", "was told", "lost)"] {
        run.assert_stdout_lacks(english);
    }
}

#[test]
fn an_entry_a_power_cut_kept_after_a_hole_in_the_log_is_dropped_not_refused() {
    // What the explorer found: two unsynced appends reach the disk out of order, so the log
    // holds zeros where order #3 was and order #4 after them; neither was confirmed.
    let env = crate::common::TestEnv::new();
    env.sell_tickets(1);
    let log = env.order_log();
    let mut bytes = std::fs::read(&log).unwrap();
    let last: Value = serde_json::from_slice(&bytes[bytes.len() - 160..]).unwrap();
    let mut fourth = last.clone();
    fourth["seq"] = Value::from(4);
    fourth["before"] = Value::from(1);
    fourth["after"] = Value::from(0);
    let mut line = serde_json::to_vec(&fourth).unwrap();
    line.resize(159, b' ');
    line.push(b'\n');
    bytes.extend([0u8; 160]);
    bytes.extend(line);
    std::fs::write(&log, bytes).unwrap();
    let run = env
        .race()
        .keep_stock()
        .buyers(1)
        .per_buyer("all")
        .delay("0..0")
        .args(["--check", "--json"])
        .run();
    run.assert_code(exit::OK);
    let sold = crate::shared_ledger::ledger(&env)
        .iter()
        .filter(|e| e["kind"] == "order")
        .count();
    // The first run's one sale, then the two tickets left, sold again from #3.
    assert_eq!(sold, 3, "{}", run.context());
    assert_eq!(env.ticket_num(), 0, "{}", run.context());
}
