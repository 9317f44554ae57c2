//! The database checked like the file: a stock row changed by hand during a race (or between
//! races) is a foreign change, exit 3, as a data file changed outside the lock is; and a
//! server that cannot take one connection per buyer is refused before the stock changes.

use std::time::{Duration, Instant};

use crate::pg_cluster::{self, Cluster, Db, SAFE_MODES, on};

/// Rows of the orders table; 0 before the launcher has created it.
fn orders(db: &Db) -> i64 {
    db.client()
        .query_one("SELECT count(*) FROM grab_tickets.orders", &[])
        .map_or(0, |row| row.get(0))
}

/// Waits (for the table, not for a time) until the orders table holds `count` rows.
fn wait_for_orders(db: &Db, count: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while orders(db) < count {
        assert!(Instant::now() < deadline, "never saw {count} orders");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_stock_raised_by_hand_mid_race_is_a_foreign_change_with_exit_3() {
    for mode in SAFE_MODES {
        let Some(db) = pg_cluster::database("raised_by_hand") else {
            return;
        };
        // Two buyers buy, 100 ms a purchase, until the stock is gone: the hand edit, made
        // once the first sale is in, lands between two sales.
        let live = on(&db.url())
            .json()
            .args(mode)
            .tickets(10)
            .buyers(2)
            .per_buyer("all")
            .delay("100..100")
            .env("LANG", "en_US.UTF-8")
            .env("LC_ALL", "en_US.UTF-8")
            .spawn();
        wait_for_orders(&db, 2); // the restock and one sale
        db.client()
            .batch_execute("UPDATE grab_tickets.stock SET ticket_num = ticket_num + 3")
            .expect("raise the stock by hand");
        let run = live.finish();
        run.assert_code(3).assert_stderr_contains(
            "was changed without following the lock protocol during the race",
        );
        let report = run.report();
        assert_ne!(
            report["verdict"]["status"],
            "oversold",
            "a hand edit is not an oversell{}",
            run.context()
        );
        assert!(
            report["settle_error"]
                .as_str()
                .is_some_and(|e| e.contains("without following the lock protocol")),
            "{}",
            run.context()
        );
        // Changed by hand between races, the stock is refused before anything is sold from
        // it, until a restock.
        db.client()
            .batch_execute("UPDATE grab_tickets.stock SET ticket_num = ticket_num + 7")
            .expect("raise the stock by hand");
        let stock = db.stock();
        let before = orders(&db);
        on(&db.url())
            .keep_stock()
            .buyers(2)
            .env("LANG", "en_US.UTF-8")
            .env("LC_ALL", "en_US.UTF-8")
            .run()
            .assert_code(3)
            .assert_stderr_contains("the stock row was changed without following the lock protocol")
            .assert_stderr_contains("run without --keep-stock to restock");
        assert_eq!(db.stock(), stock, "the refused run changed the stock");
        assert_eq!(orders(&db), before, "the refused run sold");
        db.race(&["--tickets", "4", "--buyers", "2", "--check"])
            .assert_code(0);
    }
}

#[test]
fn more_buyers_than_the_server_takes_are_refused_before_the_stock_changes() {
    let Some(cluster) = Cluster::start_with_max_connections(12) else {
        pg_cluster::skipped("too_few_connections");
        return;
    };
    let db = cluster.create_database("too_few_connections");
    db.race(&["--tickets", "5", "--buyers", "2"]).assert_code(0);
    let stock = db.stock();
    let before = orders(&db);
    let refused = on(&db.url())
        .json()
        .tickets(50)
        .buyers(30)
        .env("LANG", "en_US.UTF-8")
        .env("LC_ALL", "en_US.UTF-8")
        .run();
    refused
        .assert_code(4)
        .assert_stderr_contains("more connections now: the server allows this user")
        .assert_stderr_contains(
            "but 30 buyers need one each; nothing was changed; run with --buyers",
        );
    assert!(refused.stdout().is_empty(), "{}", refused.context());
    assert_eq!(db.stock(), stock, "the refused run changed the stock");
    assert_eq!(orders(&db), before, "the refused run wrote an order");
    // As many as it takes race as usual.
    db.race(&["--tickets", "5", "--buyers", "8", "--check"])
        .assert_code(0);
}

/// The lock launchers take around creating the tables (`pg::SCHEMA_KEY`): a test that holds it
/// holds a launcher between its connection check and its buyers' logins.
const SCHEMA_KEY: i64 = 0x6772_6162_7469_636c;

/// The check before the race is made of numbers read at one moment; another client may take
/// the slots right after. Then the buyers that cannot log in exit, and the launcher, which
/// sets the stock only once every buyer's session is there, refuses with the number that got
/// in, nothing changed (it used to race with the buyers that got in, exit 5).
#[test]
fn buyers_that_cannot_log_in_after_the_check_refuse_the_race_before_the_stock_changes() {
    let Some(cluster) = Cluster::start_with_max_connections(12) else {
        pg_cluster::skipped("late_logins");
        return;
    };
    let db = cluster.create_database("late_logins");
    db.race(&["--tickets", "5", "--buyers", "2"]).assert_code(0);
    let stock = db.stock();
    let before = orders(&db);
    let mut holder = db.client();
    holder
        .execute("SELECT pg_advisory_lock($1)", &[&SCHEMA_KEY])
        .unwrap();
    let live = on(&db.url())
        .tickets(50)
        .buyers(6)
        .env("LANG", "en_US.UTF-8")
        .env("LC_ALL", "en_US.UTF-8")
        .spawn();
    // The launcher has checked the slots (2 in use, 10 free) and waits for the lock.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let waiting: i64 = holder
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
                &[],
            )
            .unwrap()
            .get(0);
        if waiting > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the launcher never waited for the lock"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // Another client takes all but three of the slots: 12 = the holder, the launcher, 7, 3.
    let hogs: Vec<postgres::Client> = (0..7).map(|_| db.client()).collect();
    holder
        .execute("SELECT pg_advisory_unlock($1)", &[&SCHEMA_KEY])
        .unwrap();
    let run = live.finish();
    run.assert_code(4)
        .assert_stderr_contains("of 6 buyers could log in to")
        .assert_stderr_contains("nothing was changed")
        // Each buyer refused says so itself, with the server's words.
        .assert_stderr_contains("stopped before the race: failed to ");
    drop(hogs);
    assert_eq!(db.stock(), stock, "the refused run changed the stock");
    assert_eq!(orders(&db), before, "the refused run wrote an order");
}
