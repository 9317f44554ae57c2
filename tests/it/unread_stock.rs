//! When the stock cannot be read back after a race (the data file deleted under a locked run;
//! the database server stopped mid-race; the stock row deleted), the report says exactly that,
//! prints no number it did not read, and exits with the status docs/exit-codes.md gives.

use std::time::{Duration, Instant};

use crate::common::process::Live;
use crate::common::{self, Race, Run, TestEnv};
#[cfg(unix)]
use crate::pg_cluster::{self, Db, on};
use serde_json::Value;

/// Two buyers, one ticket, a long network delay: once `sold` sees the first sale, the other
/// buyer holds the lock in its delay (it read 0, so it will write nothing) for the delay's
/// lower bound or more (300 ms for the data file, 800 ms or more for the database),
/// and `break_stock` runs then. `sold` is polled, with the backstop (a `--json` run narrates
/// nothing to wait on).
fn with_the_stock_broken_mid_race(
    live: Live,
    mut sold: impl FnMut() -> bool,
    break_stock: impl FnOnce(),
) -> Run {
    let deadline = Instant::now() + common::BACKSTOP;
    while !sold() {
        assert!(Instant::now() < deadline, "no sale before the backstop");
        std::thread::sleep(Duration::from_millis(5));
    }
    break_stock();
    live.finish()
}

/// As above, for a run that narrates: waits for the other buyer's own line saying it read 0
/// and is in its delay, so the stock is broken under its lock, never before it read.
fn with_the_stock_broken_in_the_delay(mut live: Live, break_stock: impl FnOnce()) -> Run {
    live.wait_for("the other buyer in its delay after the sale", |lines| {
        lines.iter().any(|l| {
            l.contains("ticket_num = 0") && (l.contains("network delay") || l.contains("网络延迟"))
        })
    });
    break_stock();
    live.finish()
}

/// Whether the data file shows the first sale (a missing or half-read file: not yet).
fn file_sold(env: &TestEnv) -> impl Fn() -> bool + '_ {
    || {
        std::fs::read_to_string(&env.data)
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .is_some_and(|v| v["ticket_num"] == 0)
    }
}

/// Whether the orders table holds the first sale, asked on one connection opened now: a new
/// connection per poll forks a server process each time, which on a loaded machine can take
/// longer than the other buyer's whole delay.
#[cfg(unix)]
fn db_sold(db: &Db) -> impl FnMut() -> bool {
    let mut client = db.client();
    move || {
        client
            .query_one(
                "SELECT count(*) FROM grab_tickets.orders WHERE kind = 'order'",
                &[],
            )
            .is_ok_and(|row| row.get::<_, i64>(0) > 0)
    }
}

/// What every unread-stock report must say in its text, in English.
fn assert_text_says_the_stock_is_unknown(run: &Run, stock_row: &str) {
    let context = run.context();
    let left = run
        .stdout()
        .lines()
        .find(|l| l.trim_start().starts_with(stock_row))
        .unwrap_or_else(|| panic!("no '{stock_row}' row{context}"));
    // The count column holds the word, not a number.
    let count = left.trim_start()[stock_row.len()..].trim_start();
    assert!(count.starts_with("unknown "), "a number not read{context}");
    let lost = run
        .stdout()
        .lines()
        .find(|l| l.trim_start().starts_with("lost updates"))
        .unwrap_or_else(|| panic!("no 'lost updates' row{context}"));
    let count = lost.trim_start()["lost updates".len()..].trim_start();
    assert!(count.starts_with("unknown "), "a number not read{context}");
    run.assert_stdout_contains("STOCK UNKNOWN:")
        .assert_stdout_lacks("LOST UPDATES")
        .assert_stdout_lacks("OK:")
        .assert_stdout_lacks("With no lock")
        .assert_stdout_lacks("--keep-stock")
        .assert_stderr_lacks("--keep-stock");
}

/// What every unread-stock `--json` report must say.
fn assert_json_says_the_stock_is_unknown(run: &Run, reason: &str) {
    let report: &Value = run.report();
    let context = run.context();
    assert_eq!(report["tally"]["remaining"], Value::Null, "{context}");
    assert_eq!(report["tally"]["lost_updates"], Value::Null, "{context}");
    assert_eq!(report["tally"]["confirmed"], 1, "{context}");
    assert_eq!(report["verdict"]["status"], "stock_unknown", "{context}");
    assert_eq!(report["remaining_unread"], reason, "{context}");
    assert!(report["settle_error"].is_string(), "{context}");
}

fn locked_file_race(env: &TestEnv) -> Race {
    env.race()
        .buyers(2)
        .tickets(1)
        .delay("300..400")
        .env("LANG", "C")
        .env("LC_ALL", "C")
}

#[test]
fn a_data_file_deleted_under_a_locked_run_leaves_the_stock_unknown_and_exits_3() {
    let env = TestEnv::new();
    let run = with_the_stock_broken_in_the_delay(locked_file_race(&env).spawn(), || {
        std::fs::remove_file(&env.data).expect("delete the data file");
    });
    run.assert_code(3)
        .assert_stderr_contains("was deleted during the race")
        .assert_stdout_contains("could not be read back from");
    assert_text_says_the_stock_is_unknown(&run, "left in data file");
}

#[test]
fn a_data_file_deleted_under_a_locked_run_is_null_in_json() {
    let env = TestEnv::new();
    let run = with_the_stock_broken_mid_race(
        locked_file_race(&env).json().spawn(),
        file_sold(&env),
        || {
            std::fs::remove_file(&env.data).expect("delete the data file");
        },
    );
    run.assert_code(3);
    assert_json_says_the_stock_is_unknown(&run, "data_file_not_read_back");
}

#[test]
fn a_data_file_deleted_under_a_locked_run_is_unknown_in_chinese() {
    let env = TestEnv::new();
    let live = locked_file_race(&env)
        .env("LANG", "zh_CN.UTF-8")
        .env("LC_ALL", "zh_CN.UTF-8")
        .lang("zh")
        .spawn();
    let run = with_the_stock_broken_in_the_delay(live, || {
        std::fs::remove_file(&env.data).expect("delete the data file");
    });
    run.assert_code(3)
        .assert_stdout_contains("余票未知")
        .assert_stdout_contains("未知")
        .assert_stdout_lacks("丢失更新：")
        .assert_stderr_contains("在抢票过程中被删除");
}

// Unix-only: the PostgreSQL cluster runs as user postgres (runuser(1), a Unix socket).
#[cfg(unix)]
#[test]
fn a_stock_row_deleted_mid_race_leaves_the_stock_unknown() {
    for json in [false, true] {
        let mut early = Vec::new();
        loop {
            let Some(db) = pg_cluster::database("unread_row") else {
                return;
            };
            match a_stock_row_deleted_mid_race_on(&db, json) {
                Deleted::BeforeTheReadBack => break,
                Deleted::AfterTheReadBack(run) => early.push(run),
            }
            assert!(
                early.len() < TRIES,
                "in {TRIES} of {TRIES} races the launcher read the row back before the DELETE \
                 landed{}",
                early[0].context()
            );
        }
    }
}

/// Races the row's deletion has to run: it is a race of its own (see below), and on a
/// loaded machine the launcher can win it more than once in a row.
#[cfg(unix)]
const TRIES: usize = 5;

/// Which of the two came first: the DELETE or the launcher's read-back.
#[cfg(unix)]
enum Deleted {
    BeforeTheReadBack,
    AfterTheReadBack(Run),
}

/// One run on a database of its own (`db_sold` counts every order in it).
///
/// The DELETE waits for the last buyer's row lock and is woken when that buyer commits; the
/// launcher reads the row back once that buyer has exited, and on a loaded machine it can
/// reach the row before the woken DELETE does (CI saw it twice). That run is then a true OK,
/// checked as such, and the caller races again.
#[cfg(unix)]
fn a_stock_row_deleted_mid_race_on(db: &Db, json: bool) -> Deleted {
    // The other buyer's delay is the window in which the DELETE must be sent, on a
    // connection opened before the race (opening one forks a server process).
    let race = || {
        on(&db.url())
            .buyers(2)
            .tickets(1)
            .delay("800..900")
            .env("LANG", "C")
            .env("LC_ALL", "C")
    };
    let mut deleter = db.client();
    let delete = move || {
        deleter
            .execute("DELETE FROM grab_tickets.stock", &[])
            .expect("delete the stock row");
    };
    let run = if json {
        with_the_stock_broken_mid_race(race().json().spawn(), db_sold(db), delete)
    } else {
        with_the_stock_broken_in_the_delay(race().spawn(), delete)
    };
    if run.code() == Some(0) {
        // Read back before the DELETE: the report must be a plain, true sale of the one ticket.
        if json {
            run.assert_status("ok");
            assert_eq!(pg_cluster::tally(&run), (1, 1, 0, 1), "{}", run.context());
        } else {
            run.assert_stdout_contains("OK: 1 ticket, 1 sold, 1 sold out");
        }
        return Deleted::AfterTheReadBack(run);
    }
    if json {
        run.assert_code(3);
        assert_json_says_the_stock_is_unknown(&run, "stock_row_not_read_back");
        assert_eq!(run.report()["tally"]["logged"], 1, "{}", run.context());
    } else {
        run.assert_code(3)
            .assert_stderr_contains("was deleted during the race");
        assert_text_says_the_stock_is_unknown(&run, "left in stock row");
    }
    Deleted::BeforeTheReadBack
}

// Unix-only: the PostgreSQL cluster runs as user postgres (runuser(1), a Unix socket).
#[cfg(unix)]
#[test]
fn a_server_stopped_mid_race_leaves_the_stock_unknown_and_exits_4() {
    // A cluster of its own: stopping the shared one would break the other tests.
    let Some(cluster) = pg_cluster::Cluster::start() else {
        pg_cluster::skipped("a_server_stopped_mid_race_leaves_the_stock_unknown_and_exits_4");
        return;
    };
    let db = cluster.create_database("unread_stopped");
    // Stopping a server (runuser, pg_ctl) is slower than the row's DELETE: the same long
    // window as there.
    let live = on(&db.url())
        .buyers(2)
        .tickets(1)
        .delay("1500..1600")
        .json()
        .spawn();
    let run = with_the_stock_broken_mid_race(live, db_sold(&db), || cluster.stop());
    run.assert_code(4);
    assert_json_says_the_stock_is_unknown(&run, "stock_row_not_read_back");
    // The orders table went with the server: its count is not known either, never 0.
    assert_eq!(
        run.report()["tally"]["logged"],
        Value::Null,
        "{}",
        run.context()
    );
}

/// A stock row changed by hand into what no stock can be is bad data (exit 3) with the column
/// named, never a huge unsigned count the buyers sell from forever; nothing is sold or changed.
// Unix-only: the PostgreSQL cluster runs as user postgres (runuser(1), a Unix socket).
#[cfg(unix)]
#[test]
fn a_stock_row_negative_or_not_whole_is_refused_and_nothing_changes() {
    let Some(db) = pg_cluster::database("hand_edited_row") else {
        return;
    };
    db.race(&["--tickets", "5", "--buyers", "1"])
        .assert_success();
    let orders = |db: &Db| -> i64 {
        db.client()
            .query_one("SELECT count(*) FROM grab_tickets.orders", &[])
            .unwrap()
            .get(0)
    };
    let before = orders(&db);
    let edits = [
        (
            "ALTER TABLE grab_tickets.stock DROP CONSTRAINT stock_ticket_num_check; \
             UPDATE grab_tickets.stock SET ticket_num = -3",
            "is -3, below zero: it was changed by hand; nothing was sold from it; set it by \
             hand to a whole number (UPDATE grab_tickets.stock SET ticket_num = 0), then run \
             again with --tickets N",
        ),
        (
            "ALTER TABLE grab_tickets.stock ALTER COLUMN ticket_num TYPE numeric; \
             UPDATE grab_tickets.stock SET ticket_num = 2.5",
            "grab_tickets.stock.ticket_num in postgres://",
        ),
    ];
    for (edit, says) in edits {
        db.client()
            .batch_execute(edit)
            .expect("edit the stock row by hand");
        let shown: String = db
            .client()
            .query_one("SELECT ticket_num::text FROM grab_tickets.stock", &[])
            .unwrap()
            .get(0);
        on(&db.url())
            .keep_stock()
            .buyers(3)
            .env("LANG", "C")
            .env("LC_ALL", "C")
            .run()
            .assert_code(3)
            .assert_stderr_contains(says);
        let after: String = db
            .client()
            .query_one("SELECT ticket_num::text FROM grab_tickets.stock", &[])
            .unwrap()
            .get(0);
        assert_eq!(after, shown, "the hand-edited stock row was changed");
        assert_eq!(orders(&db), before, "something was sold from it");
    }
}
