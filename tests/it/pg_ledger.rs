//! The database's ledger held to the file's rules: no run writes a seq that a later run
//! refuses (the room is checked before the stock changes), tables changed by hand are named
//! before any buyer starts, and an order whose seq jumps is forged history, named by its id.

use std::time::{Duration, Instant};

use crate::common;
use crate::pg_cluster::{self, Db, SAFE_MODES, on};

/// The largest seq there may be, 2^63 − 1: the bigint's own limit too.
const MAX_SEQ: i64 = i64::MAX;

fn orders(db: &Db) -> i64 {
    db.client()
        .query_one("SELECT count(*) FROM grab_tickets.orders", &[])
        .map_or(0, |row| row.get(0))
}

/// The stock row and the last order moved to `seq` together, as if that many sales had
/// happened: a ledger that agrees with itself.
fn move_ledger_to(db: &Db, seq: i64) {
    db.client()
        .execute(
            "WITH o AS (UPDATE grab_tickets.orders SET seq = $1 \
             WHERE id = (SELECT max(id) FROM grab_tickets.orders)) \
             UPDATE grab_tickets.stock SET seq = $1",
            &[&seq],
        )
        .expect("move the ledger's seq");
}

#[test]
fn a_ledger_at_the_largest_seq_is_refused_before_the_stock_changes() {
    let Some(db) = pg_cluster::database("seq_at_max") else {
        return;
    };
    db.race(&["--tickets", "3", "--buyers", "1"])
        .assert_success();
    move_ledger_to(&db, MAX_SEQ);
    let before = (db.stock(), orders(&db));
    for args in [&["--tickets", "3"][..], &["--keep-stock"]] {
        on(&db.url())
            .buyers(2)
            .args(args)
            .env("LANG", "C")
            .env("LC_ALL", "C")
            .run()
            .assert_code(3)
            .assert_stderr_contains(
                "is at seq 9223372036854775807, too close to the largest seq there may be \
                 (9223372036854775807) for this run to finish; nothing was changed",
            );
        assert_eq!(
            (db.stock(), orders(&db)),
            before,
            "{args:?} changed the ledger"
        );
    }
    // A little room is enough for a little run, in every mode, and every seq it writes
    // stays readable.
    for mode in SAFE_MODES {
        move_ledger_to(&db, MAX_SEQ - 40);
        let mut args = vec!["--tickets", "3", "--buyers", "2", "--check"];
        args.extend_from_slice(mode);
        db.race(&args).assert_success();
        let (_, seq) = db.stock();
        assert!(
            seq <= MAX_SEQ as u64 && seq > (MAX_SEQ - 40) as u64,
            "{mode:?} wrote seq {seq}"
        );
    }
    db.race(&["--keep-stock", "--buyers", "1", "--check"])
        .assert_success();
}

/// The room is checked before the race, but the stock's seq can be set to the largest by
/// hand while buyers buy. Then no mode writes the seq past it (a negative bigint, which every
/// later run refuses): the buyer stops with the error, and the ledger stays at the largest.
#[test]
fn a_seq_moved_to_the_largest_mid_race_is_never_passed_in_any_mode() {
    let Some(db) = pg_cluster::database("seq_max_mid_race") else {
        return;
    };
    for mode in SAFE_MODES {
        db.race(&["--tickets", "1", "--buyers", "1"])
            .assert_success();
        let first = orders(&db);
        let live = on(&db.url())
            .buyers(1)
            .tickets(10)
            .per_buyer("all")
            .delay("200..200")
            .args(mode)
            .env("LANG", "C")
            .env("LC_ALL", "C")
            .spawn();
        // The signal: the run's first sale is in the orders table; nine tickets are left.
        let deadline = Instant::now() + common::BACKSTOP;
        while orders(&db) == first {
            if Instant::now() > deadline {
                panic!("{mode:?}: no sale was made{}", live.finish().context());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        db.client()
            .batch_execute(&format!("UPDATE grab_tickets.stock SET seq = {MAX_SEQ}"))
            .expect("move the stock's seq");
        let run = live.finish();
        let context = run.context();
        assert!(!run.stderr().contains("panicked"), "{mode:?}{context}");
        // The buyer names the seq; the report blames the hand edit, not this run's sales.
        run.assert_stdout_contains(&format!(
            "has reached the largest seq there may be ({MAX_SEQ}); nothing was written"
        ))
        .assert_stdout_contains("the stock row was changed by hand during the race");
        assert_eq!(db.stock().1, MAX_SEQ as u64, "{mode:?}{context}");
        let wrapped: i64 = db
            .client()
            .query_one(
                "SELECT count(*) FROM grab_tickets.orders WHERE seq < 0",
                &[],
            )
            .expect("count orders")
            .get(0);
        assert_eq!(wrapped, 0, "{mode:?} wrote a negative seq{context}");
        db.client()
            .batch_execute("DROP SCHEMA grab_tickets CASCADE")
            .expect("start a new ledger");
    }
}

#[test]
fn a_count_beyond_two_to_the_53_is_printed_with_its_exact_digits() {
    let Some(db) = pg_cluster::database("exact_digits") else {
        return;
    };
    db.race(&["--tickets", "3", "--buyers", "1"])
        .assert_success();
    move_ledger_to(&db, MAX_SEQ - 100);
    db.client()
        .batch_execute("UPDATE grab_tickets.stock SET seq = 5")
        .unwrap();
    on(&db.url())
        .keep_stock()
        .buyers(1)
        .env("LANG", "C")
        .env("LC_ALL", "C")
        .run()
        .assert_code(3)
        .assert_stderr_contains(
            "says 2 tickets at #5, but grab_tickets.orders says 2 at #9223372036854775707:",
        );
}

/// A column whose type was changed by hand: the buyers' statements no longer fit it, and
/// they used to fail before the gun, reported as buyers that could not log in (exit 4).
#[test]
fn a_column_changed_by_hand_is_named_before_any_buyer_starts() {
    let Some(db) = pg_cluster::database("column_changed") else {
        return;
    };
    db.race(&["--tickets", "3", "--buyers", "1"])
        .assert_success();
    db.client()
        .batch_execute(
            "ALTER TABLE grab_tickets.stock DROP CONSTRAINT stock_ticket_num_check; \
             ALTER TABLE grab_tickets.stock ALTER COLUMN ticket_num TYPE text",
        )
        .unwrap();
    let before = orders(&db);
    let run = on(&db.url())
        .keep_stock()
        .buyers(2)
        .env("LANG", "C")
        .env("LC_ALL", "C")
        .run();
    run.assert_code(3)
        .assert_stderr_contains("grab_tickets.stock.ticket_num in postgres://postgres@%2F")
        .assert_stderr_contains(
            " is text, but grab-tickets made it bigint: the table was changed by hand; nothing was \
         changed",
        );
    assert!(!run.stderr().contains("log in"), "{}", run.context());
    assert_eq!(orders(&db), before);
}

/// Another program appends an order whose seq jumps a million ahead (under the row lock, so
/// the row and the orders agree): the report names it by its id as a protocol violation, never
/// as a hand edit or as tickets oversold, and counts it as no sale of this run's.
#[test]
fn an_order_that_jumps_the_seq_is_a_protocol_violation_named_by_its_id() {
    let Some(db) = pg_cluster::database("forged_order") else {
        return;
    };
    let live = on(&db.url())
        .json()
        .tickets(10)
        .buyers(2)
        .per_buyer("all")
        .delay("100..100")
        .env("LANG", "C")
        .env("LC_ALL", "C")
        .spawn();
    let deadline = Instant::now() + Duration::from_secs(60);
    while orders(&db) < 2 {
        assert!(Instant::now() < deadline, "the race never sold");
        std::thread::sleep(Duration::from_millis(5));
    }
    let forged: i64 = db
        .client()
        .query_one(
            "WITH s AS (SELECT ticket_num, seq FROM grab_tickets.stock FOR UPDATE), \
             u AS (UPDATE grab_tickets.stock t SET ticket_num = s.ticket_num - 1, \
                   seq = s.seq + 1000000 FROM s RETURNING s.ticket_num, s.seq) \
             INSERT INTO grab_tickets.orders (seq, kind, run, buyer, pid, before, after) \
             SELECT u.seq + 1000000, 'order', 'py-forger', 0, 4242, u.ticket_num, \
                    u.ticket_num - 1 FROM u RETURNING id",
            &[],
        )
        .expect("append a forged order")
        .get(0);
    let run = live.finish();
    run.assert_code(3).assert_stderr_contains(&format!(
        "another program broke the lock protocol during this race: order id {forged} of \
         grab_tickets.orders in"
    ));
    let report = run.report();
    assert_eq!(
        report["verdict"]["status"],
        "protocol_violation",
        "{}",
        run.context()
    );
    assert_eq!(report["forged"][0]["line"], forged, "{}", run.context());
    assert_eq!(report["forged"][0]["entry"]["run"], "py-forger");
    assert!(
        report["settle_error"].is_null(),
        "not a hand edit{}",
        run.context()
    );
    assert_eq!(report["tally"]["oversold"], 0);
}

/// A stock row below zero is refused with a fix that works: the UPDATE it names, then a
/// restock. (It used to blame a dropped CHECK, which `seq` never had, and to send the user to
/// `--tickets N`, which refused the same row again.)
#[test]
fn the_fix_a_negative_stock_row_is_refused_with_works() {
    let Some(db) = pg_cluster::database("negative_fix") else {
        return;
    };
    db.race(&["--tickets", "3", "--buyers", "1"])
        .assert_success();
    db.client()
        .batch_execute("ALTER TABLE grab_tickets.stock DROP CONSTRAINT stock_ticket_num_check")
        .unwrap();
    for column in ["ticket_num", "seq"] {
        db.client()
            .batch_execute(&format!("UPDATE grab_tickets.stock SET {column} = -2"))
            .unwrap();
        let fix = format!("UPDATE grab_tickets.stock SET {column} = 0");
        let refused = on(&db.url())
            .tickets(4)
            .buyers(1)
            .env("LANG", "C")
            .env("LC_ALL", "C")
            .run();
        refused
            .assert_code(3)
            .assert_stderr_contains(&format!("{column} in grab_tickets.stock is -2, below zero"))
            .assert_stderr_contains(&format!("({fix}), then run again with --tickets N"));
        assert!(!refused.stderr().contains("CHECK"), "{}", refused.context());
        db.client().batch_execute(&fix).unwrap();
        db.race(&["--tickets", "4", "--buyers", "1", "--check"])
            .assert_success();
    }
}
