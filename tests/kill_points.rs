//! A buyer SIGKILLed at each step of a locked purchase (via the hidden `--kill-at`, which makes
//! the buyer SIGKILL itself exactly there) leaves a complete data file, no oversold ticket, a
//! free lock, and a report that accounts for every ticket.

mod common;
use common::{Run, TestEnv, tally};
use serde_json::Value;

/// Three buyers, three tickets, buyer 1 dies at `step`; returns the run and its report.
fn kill_buyer_one_at(step: &str) -> (TestEnv, Run, Value) {
    let env = TestEnv::new();
    let kill = format!("1:{step}");
    let (run, report) = env.run_json(&[
        "--buyers",
        "3",
        "--tickets",
        "3",
        "--delay-ms",
        "0..2",
        "--kill-at",
        &kill,
        "--check",
    ]);
    run.assert_code(0);
    let buyer_one = &report["buyers"][0];
    assert_eq!(buyer_one["buyer"], 1);
    assert_eq!(buyer_one["ending"]["how"], "killed", "{}", run.context());
    assert_eq!(buyer_one["ending"]["signal"], 9);
    // The invariants: the file is complete JSON, nothing oversold, every ticket in stock or sold.
    let (initial, confirmed, remaining, logged) = tally(&report);
    assert_eq!(env.ticket_num(), remaining, "{}", run.context());
    assert!(confirmed <= initial);
    assert_eq!(remaining + logged, initial, "{}", run.context());
    assert_eq!(report["verdict"]["status"], "ok", "{}", run.context());
    (env, run, report)
}

/// Buyer 1's sale is in the log but was never confirmed, and it is accounted for; the data
/// file needed `finished` orders applied by someone else (0 when it already showed the sale).
fn sold_but_unconfirmed(run: &Run, report: &Value, finished: usize) {
    let context = run.context();
    assert_eq!(report["buyers"][0]["logged"], 1, "{context}");
    assert_eq!(report["buyers"][0]["confirmed"], 0, "{context}");
    assert_eq!(report["tally"]["unconfirmed"], 1, "{context}");
    assert_eq!(tally(report), (3, 2, 0, 3), "{context}");
    let recovered = report["recovered"].as_array().unwrap();
    assert_eq!(recovered.len(), finished, "{context}");
    assert!(
        recovered.iter().all(|r| r["entry"]["buyer"] == 1),
        "{context}"
    );
}

fn others_bought_both_remaining_tickets(report: &Value) {
    let others: u64 = report["buyers"].as_array().unwrap()[1..]
        .iter()
        .map(|b| b["confirmed"].as_u64().unwrap())
        .sum();
    assert_eq!(others, 2, "the lock was free for the others: {report}");
}

#[test]
fn a_buyer_killed_before_taking_the_lock_sells_nothing() {
    let (_, _, report) = kill_buyer_one_at("before_lock");
    assert_eq!(report["buyers"][0]["logged"], 0);
    assert_eq!(tally(&report), (3, 2, 1, 2));
}

#[test]
fn a_buyer_killed_while_holding_the_lock_does_not_block_the_others() {
    let (_, _, report) = kill_buyer_one_at("lock_held");
    assert_eq!(report["buyers"][0]["logged"], 0);
    others_bought_both_remaining_tickets(&report);
    assert_eq!(tally(&report), (3, 2, 1, 2));
}

#[test]
fn a_sale_logged_before_the_buyer_died_is_finished_by_the_next_lock_holder() {
    let (_, run, report) = kill_buyer_one_at("order_logged");
    sold_but_unconfirmed(&run, &report, 1);
}

#[test]
fn a_buyer_killed_between_temp_file_and_rename_leaves_no_temp_file() {
    let (env, run, report) = kill_buyer_one_at("temp_written");
    // Logged, so sold; not yet confirmed: a sale is confirmed only once it is flushed.
    sold_but_unconfirmed(&run, &report, 1);
    let temps = std::fs::read_dir(env.dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .count();
    assert_eq!(temps, 0, "{}", run.context());
}

#[test]
fn a_buyer_killed_after_the_rename_but_before_reporting_keeps_its_sale() {
    let (_, run, report) = kill_buyer_one_at("data_written");
    // The data file already showed the sale: nothing to finish.
    sold_but_unconfirmed(&run, &report, 0);
}

#[test]
fn a_buyer_killed_after_unlocking_but_before_its_flush_keeps_an_unconfirmed_sale() {
    // Early lock release: the sale is logged and written, the lock is free, the flush and
    // the confirmation have not happened yet.
    let (_, run, report) = kill_buyer_one_at("released");
    sold_but_unconfirmed(&run, &report, 0);
}

#[test]
fn a_data_file_holding_zeros_after_a_power_cut_is_rebuilt_from_the_order_log() {
    let env = TestEnv::new();
    env.run(&["--buyers", "2", "--delay-ms", "0..0", "-q"])
        .assert_code(0);
    std::fs::write(&env.data, vec![0u8; 24]).unwrap();
    let (run, report) = env.run_json(&["--keep-stock", "--buyers", "1", "--delay-ms", "0..0"]);
    run.assert_code(0);
    assert_eq!(tally(&report), (1, 1, 0, 1), "{}", run.context());
}

#[test]
fn keep_stock_after_a_no_lock_run_continues_from_the_file() {
    let env = TestEnv::new();
    env.run(&[
        "--no-lock",
        "--buyers",
        "4",
        "--tickets",
        "3",
        "--delay-ms",
        "50..60",
        "-q",
    ])
    .assert_code(0);
    let left = env.ticket_num();
    let (run, report) = env.run_json(&["--keep-stock", "--buyers", "2", "--delay-ms", "0..0"]);
    run.assert_code(0);
    let (initial, _, _, _) = tally(&report);
    assert_eq!(
        initial,
        left,
        "the raced log must not change the stock{}",
        run.context()
    );
    assert_eq!(report["verdict"]["status"], "ok", "{}", run.context());
}

#[test]
fn the_report_says_who_was_killed_and_what_it_left() {
    let env = TestEnv::new();
    let run = env.run(&[
        "--buyers",
        "1",
        "--delay-ms",
        "0..0",
        "--kill-at",
        "1:order_logged",
        "-q",
    ]);
    run.assert_code(0)
        .assert_stdout_contains("buyer-1 (pid ")
        .assert_stdout_contains("was killed by fault injection at step order_logged of attempt 1")
        .assert_stdout_contains("1 sold but unconfirmed (in the order log)")
        .assert_stdout_contains("when the launcher finished it (ticket_num = 2)");
    assert_eq!(env.ticket_num(), 2);
}

#[test]
fn a_data_file_emptied_by_a_power_cut_is_rebuilt_from_the_order_log() {
    let env = TestEnv::new();
    env.run(&["--buyers", "2", "--delay-ms", "0..0", "-q"])
        .assert_code(0);
    assert_eq!(env.ticket_num(), 1);
    // What ext4 can leave after a power cut: the renamed file's contents were never written.
    std::fs::write(&env.data, "").unwrap();
    let (run, report) = env.run_json(&["--keep-stock", "--buyers", "1", "--delay-ms", "0..0"]);
    run.assert_code(0);
    assert_eq!(tally(&report), (1, 1, 0, 1), "{}", run.context());
}

#[test]
fn a_data_file_ahead_of_the_order_log_is_rolled_back_to_the_log() {
    let env = TestEnv::new();
    env.run(&["--buyers", "2", "--delay-ms", "0..0", "-q"])
        .assert_code(0);
    assert_eq!(env.ticket_num(), 1);
    // What a power cut can leave: the data file shows the second sale, but that sale's log
    // entry (never flushed, so never confirmed) is gone.
    let log = env.path("data.json.orders");
    let len = std::fs::metadata(&log).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(len - 160)
        .unwrap();
    let (run, report) = env.run_json(&["--keep-stock", "--buyers", "3", "--delay-ms", "0..0"]);
    run.assert_code(0);
    assert_eq!(tally(&report), (2, 2, 0, 2), "{}", run.context());
}

#[test]
fn zeros_at_the_end_of_the_order_log_are_trimmed() {
    let env = TestEnv::new();
    env.run(&["--buyers", "1", "--delay-ms", "0..0", "-q"])
        .assert_code(0);
    let log = env.path("data.json.orders");
    let mut bytes = std::fs::read(&log).unwrap();
    let entries = bytes.len() / 160;
    bytes.extend(vec![0u8; 320]);
    std::fs::write(&log, bytes).unwrap();
    let (run, report) = env.run_json(&["--keep-stock", "--buyers", "1", "--delay-ms", "0..0"]);
    run.assert_code(0);
    assert_eq!(tally(&report), (2, 1, 1, 1), "{}", run.context());
    assert_eq!(std::fs::read(&log).unwrap().len() / 160, entries + 1);
}
