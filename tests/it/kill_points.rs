//! A buyer SIGKILLed at each step of a locked purchase (via the hidden `--kill-at`, which makes
//! the buyer SIGKILL itself exactly there) leaves a complete data file, no oversold ticket, a
//! free lock, and a report that accounts for every ticket.

use crate::common::{Run, Tally, TestEnv};
use grab_tickets::ORDER_ENTRY_LEN;
use std::fs;

/// Three buyers, three tickets, buyer 1 dies at `step`; returns the environment and the run,
/// after checking that buyer 1 was SIGKILLed and every ticket is accounted for.
fn kill_buyer_one_at(step: &str) -> (TestEnv, Run) {
    let env = TestEnv::new();
    let run = env
        .race()
        .buyers(3)
        .tickets(3)
        .delay("0..2")
        .kill_at(&format!("1:{step}"))
        .check()
        .json()
        .run();
    run.assert_success()
        .assert_report("/buyers/0/buyer", 1)
        .assert_report("/buyers/0/ending/how", "killed")
        .assert_report("/buyers/0/ending/signal", 9)
        .assert_every_ticket_is_accounted_for();
    (env, run)
}

/// Buyer 1's sale is in the log but was never confirmed, and it is accounted for; the data
/// file needed `finished` orders applied by someone else (0 when it already showed the sale).
fn sold_but_unconfirmed(run: &Run, finished: usize) {
    run.assert_report("/buyers/0/logged", 1)
        .assert_report("/buyers/0/confirmed", 0)
        .assert_report("/tally/unconfirmed", 1)
        .assert_tally(Tally::initial(3).confirmed(2).remaining(0).logged(3));
    let recovered = run.report()["recovered"].as_array().unwrap();
    run.assert_that(
        recovered.len() == finished,
        format!("expected {finished} recovered orders"),
    )
    .assert_that(
        recovered.iter().all(|r| r["entry"]["buyer"] == 1),
        "recovered an order that was not buyer 1's",
    );
}

/// Buyer 1 logged nothing, so the two others bought the two tickets it left them.
fn sold_nothing(run: &Run) {
    let others: u64 = run.buyers()[1..]
        .iter()
        .map(|b| b["confirmed"].as_u64().unwrap())
        .sum();
    run.assert_report("/buyers/0/logged", 0)
        .assert_that(others == 2, "the lock was not free for the others")
        .assert_tally(Tally::initial(3).confirmed(2).remaining(1).logged(2));
}

/// A `--json` run of `buyers` buyers on the stock the earlier runs left (`--keep-stock`).
fn keep_stock_run(env: &TestEnv, buyers: u32) -> Run {
    let run = env
        .race()
        .keep_stock()
        .buyers(buyers)
        .delay("0..0")
        .json()
        .run();
    run.assert_success();
    run
}

#[test]
fn a_buyer_killed_before_taking_the_lock_sells_nothing() {
    let (_, run) = kill_buyer_one_at("before_lock");
    sold_nothing(&run);
}

#[test]
fn a_buyer_killed_while_holding_the_lock_does_not_block_the_others() {
    let (_, run) = kill_buyer_one_at("lock_held");
    sold_nothing(&run);
}

#[test]
fn a_buyer_killed_after_staging_its_data_file_but_before_logging_sells_nothing() {
    // The new data file is staged before the order is logged, so dying (or a full disk)
    // there sells nothing; the launcher removes the temp file it left.
    let (env, run) = kill_buyer_one_at("temp_written");
    sold_nothing(&run);
    run.assert_that(env.temp_files().is_empty(), "a temp file was left behind");
}

#[test]
fn a_buyer_killed_between_logging_and_the_swap_is_finished_and_leaves_no_temp_file() {
    let (env, run) = kill_buyer_one_at("order_logged");
    // Logged, so sold; not yet confirmed: a sale is confirmed only once it is flushed.
    sold_but_unconfirmed(&run, 1);
    run.assert_that(env.temp_files().is_empty(), "a temp file was left behind");
}

#[test]
fn a_buyer_killed_after_the_rename_but_before_reporting_keeps_its_sale() {
    let (env, run) = kill_buyer_one_at("data_written");
    // The data file already showed the sale: nothing to finish.
    sold_but_unconfirmed(&run, 0);
    run.assert_that(env.temp_files().is_empty(), "a temp file was left behind");
}

#[test]
fn every_lock_scope_removes_the_old_copies_its_exchanges_leave() {
    // Every swap of the data file leaves the old copy under the buyer's temp name (Linux's
    // exchange) until the buyer unlinks it: however many purchases, in any scope, none is
    // left behind. (A guard for moving that unlink, e.g. after the unlock: see
    // docs/performance.md, "Tried in session p22".)
    for scope in ["whole", "write", "none"] {
        let env = TestEnv::new();
        let run = env
            .race()
            .buyers(3)
            .tickets(60)
            .per_buyer("all")
            .delay("0..0")
            .lock_scope(scope)
            .json()
            .run();
        run.assert_that(run.code().is_some(), "the run was killed")
            .assert_that(
                env.temp_files().is_empty(),
                format!("{scope}: a temp file was left"),
            );
    }
}

#[test]
fn a_buyer_killed_after_unlocking_but_before_its_flush_keeps_an_unconfirmed_sale() {
    // Early lock release: the sale is logged and written, the lock is free, the flush and
    // the confirmation have not happened yet.
    let (_, run) = kill_buyer_one_at("released");
    sold_but_unconfirmed(&run, 0);
}

#[test]
fn a_data_file_holding_zeros_after_a_power_cut_is_rebuilt_from_the_order_log() {
    let env = TestEnv::new();
    env.sell_tickets(2);
    fs::write(&env.data, vec![0u8; 24]).unwrap();
    keep_stock_run(&env, 1).assert_tally(Tally::initial(1).confirmed(1).remaining(0).logged(1));
}

#[test]
fn keep_stock_after_a_no_lock_run_continues_from_the_file() {
    let env = TestEnv::new();
    env.race()
        .no_lock()
        .buyers(4)
        .tickets(3)
        .delay("50..60")
        .quiet()
        .succeeds();
    let left = env.ticket_num();
    let run = keep_stock_run(&env, 2);
    run.assert_that(
        run.tally().initial == left,
        format!("the raced log must not change the stock of {left}"),
    )
    .assert_status("ok");
}

#[test]
fn the_report_says_who_was_killed_and_what_it_left() {
    let env = TestEnv::new();
    env.race()
        .buyers(1)
        .delay("0..0")
        .kill_at("1:order_logged")
        .quiet()
        .succeeds()
        .assert_stdout_contains("buyer-1 (pid ")
        .assert_stdout_contains("was killed by fault injection at step order_logged of attempt 1")
        .assert_stdout_contains("1 sold but unconfirmed (in the order log)")
        .assert_stdout_contains("when the launcher finished it (ticket_num = 2)")
        .assert_tickets_left(2);
}

#[test]
fn a_data_file_emptied_by_a_power_cut_is_rebuilt_from_the_order_log() {
    let env = TestEnv::new();
    env.sell_tickets(2).assert_tickets_left(1);
    // What ext4 can leave after a power cut: the renamed file's contents were never written.
    fs::write(&env.data, "").unwrap();
    keep_stock_run(&env, 1).assert_tally(Tally::initial(1).confirmed(1).remaining(0).logged(1));
}

#[test]
fn a_data_file_ahead_of_the_order_log_is_rolled_back_to_the_log() {
    let env = TestEnv::new();
    env.sell_tickets(2).assert_tickets_left(1);
    // What a power cut can leave: the data file shows the second sale, but that sale's log
    // entry (never flushed, so never confirmed) is gone.
    let log = fs::OpenOptions::new()
        .write(true)
        .open(env.order_log())
        .unwrap();
    let len = log.metadata().unwrap().len();
    log.set_len(len - ORDER_ENTRY_LEN as u64).unwrap();
    keep_stock_run(&env, 3).assert_tally(Tally::initial(2).confirmed(2).remaining(0).logged(2));
}

#[test]
fn zeros_at_the_end_of_the_order_log_are_trimmed() {
    let env = TestEnv::new();
    env.sell_tickets(1);
    let log = env.order_log();
    let mut bytes = fs::read(&log).unwrap();
    let entries = bytes.len() / ORDER_ENTRY_LEN;
    bytes.extend(vec![0u8; 2 * ORDER_ENTRY_LEN]);
    fs::write(&log, bytes).unwrap();
    let run = keep_stock_run(&env, 1);
    run.assert_tally(Tally::initial(2).confirmed(1).remaining(1).logged(1));
    let after = fs::read(&log).unwrap().len();
    run.assert_that(
        after == (entries + 1) * ORDER_ENTRY_LEN,
        format!("the log holds {after} bytes, not {} entries", entries + 1),
    );
}
