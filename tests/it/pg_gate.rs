//! The database's race gate (`grab_tickets.races`): a running race's mode is recorded before
//! the stock changes, a safe race refuses to start beside an unlocked one with nothing
//! changed, an unlocked one beside a locked race is told plainly that it may oversell it, and
//! a dead launcher's record blocks nobody.

use std::time::{Duration, Instant};

use crate::common::process::Live;
use crate::pg_cluster::{self, Db, on};

/// The races the gate records, as (run, mode, launcher pid).
fn recorded(db: &Db) -> Vec<(String, String, i32)> {
    db.client()
        .query(
            "SELECT run, mode, launcher FROM grab_tickets.races ORDER BY id",
            &[],
        )
        .expect("read grab_tickets.races")
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect()
}

/// A race of `mode` whose buyers each read, wait `delay` ms and buy one ticket, started once
/// the gate has recorded it (the test waits for the record, not for a time).
fn running(db: &Db, mode: &[&str], delay: &str) -> Live {
    let live = on(&db.url())
        .json()
        .keep_stock()
        .buyers(2)
        .per_buyer("1")
        .delay(delay)
        .args(mode)
        .spawn();
    let pid = live.pid() as i32;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !recorded(db).iter().any(|(_, _, launcher)| *launcher == pid) {
        assert!(
            Instant::now() < deadline,
            "the gate never recorded launcher {pid}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    live
}

/// Leaves `tickets` in the stock row (one buyer buys one of `tickets + 1`).
fn set_stock(db: &Db, tickets: u64) {
    db.race(&[
        "--buyers",
        "1",
        "--per-buyer",
        "1",
        "--tickets",
        &(tickets + 1).to_string(),
    ])
    .assert_code(0);
}

#[test]
fn an_unlocked_race_beside_a_locked_one_is_told_it_may_oversell_it() {
    let Some(db) = pg_cluster::database("gate_told") else {
        return;
    };
    set_stock(&db, 10);
    let locked = running(&db, &["--db-lock", "row"], "1500..1500");
    let (run, mode, _) = recorded(&db).remove(0);
    assert_eq!(mode, "--db-lock row");
    let unlocked = on(&db.url())
        .json()
        .keep_stock()
        .buyers(2)
        .per_buyer("1")
        .delay("0..1")
        .arg("--no-lock")
        .env("LANG", "en_US.UTF-8")
        .env("LC_ALL", "en_US.UTF-8")
        .run();
    unlocked
        .assert_code(0)
        .assert_stderr_contains(&format!(
            "a locked race is running on the stock in {}",
            db.url()
        ))
        .assert_stderr_contains(&format!("(run {run}, launcher pid"))
        .assert_stderr_contains("--db-lock row); this unlocked run (--no-lock) may oversell it");
    let told = unlocked
        .stderr()
        .lines()
        .filter(|l| l.contains("may oversell it"))
        .count();
    assert_eq!(told, 1, "told once, on one line{}", unlocked.context());
    // A safe mode beside it shares the stock and is told nothing.
    let beside = on(&db.url())
        .json()
        .keep_stock()
        .buyers(2)
        .per_buyer("1")
        .delay("0..1")
        .arg("--atomic")
        .run();
    beside.assert_code(0);
    assert!(beside.stderr().is_empty(), "{}", beside.context());
    assert_eq!(
        beside.report()["verdict"]["status"],
        "ok",
        "{}",
        beside.context()
    );
    locked.finish().assert_code(0);
    assert_eq!(
        recorded(&db),
        Vec::new(),
        "every race's record is gone once it ended"
    );
}

#[test]
fn a_safe_race_refuses_to_start_beside_an_unlocked_one_and_changes_nothing() {
    let Some(db) = pg_cluster::database("gate_refused") else {
        return;
    };
    set_stock(&db, 10);
    let unlocked = running(&db, &["--no-lock"], "3000..3000");
    for mode in [
        &["--db-lock", "row"][..],
        &["--db-lock", "advisory"],
        &["--atomic"],
        &["--serializable"],
    ] {
        let refused = on(&db.url())
            .args(["--tickets", "50", "--buyers", "2"])
            .args(mode)
            .env("LANG", "en_US.UTF-8")
            .env("LC_ALL", "en_US.UTF-8")
            .run();
        refused
            .assert_code(4)
            .assert_stderr_contains("an unlocked race is running on the stock in")
            .assert_stderr_contains("--no-lock): it writes counts it read without a lock")
            .assert_stderr_contains("nothing was changed")
            .assert_stderr_contains(&format!("then run with {} again", mode.join(" ")));
        assert!(refused.stdout().is_empty(), "{}", refused.context());
    }
    let run = unlocked.finish();
    run.assert_code(0);
    // Not one restock to 50 reached the ledger, and the stock is what the unlocked run says.
    let restocked: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM grab_tickets.orders WHERE kind = 'restock' AND after = 50",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(restocked, 0, "a refused run changed the stock");
    db.assert_agrees_with(&run);
    assert_eq!(recorded(&db), Vec::new());
}

#[test]
fn a_dead_launchers_record_blocks_nobody() {
    let Some(db) = pg_cluster::database("gate_dead") else {
        return;
    };
    set_stock(&db, 10);
    let unlocked = running(&db, &["--no-lock"], "60000..60000");
    unlocked.signal(libc::SIGKILL);
    let _ = unlocked.finish();
    // Its row is still there, but its session lock went with its connection.
    assert_eq!(recorded(&db).len(), 1);
    let after = on(&db.url())
        .json()
        .keep_stock()
        .buyers(2)
        .per_buyer("1")
        .delay("0..1")
        .run();
    after.assert_code(0);
    assert_eq!(recorded(&db), Vec::new(), "the stale record was cleaned up");
}
