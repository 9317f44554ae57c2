//! The race and its fixes on a real PostgreSQL server (a throwaway cluster, see
//! `pg_cluster`): the same buyers, report, trace and JSON as with the data file, the stock in
//! a row, the ledger in an orders table that every report is checked against.

use crate::common::Run;
use crate::pg_cluster;
use crate::pg_cluster::{SAFE_MODES, on, tally};
use serde_json::Value;

#[test]
fn without_a_lock_buyers_on_a_server_oversell_and_lose_updates() {
    let Some(db) = pg_cluster::database("no_lock") else {
        return;
    };
    let run = db.race(&[
        "--no-lock",
        "--buyers",
        "6",
        "--tickets",
        "2",
        "--delay-ms",
        "200..300",
    ]);
    run.assert_code(0);
    let report = run.report();
    let (initial, confirmed, remaining, logged) = tally(&run);
    // Everyone read 2 and wrote `UPDATE ... SET ticket_num = 1`: six sales, one visible.
    assert_eq!(
        (initial, confirmed, remaining, logged),
        (2, 6, 1, 6),
        "{}",
        run.context()
    );
    assert_eq!(report["tally"]["oversold"], 4);
    assert_eq!(report["tally"]["lost_updates"], 5);
    assert_eq!(report["verdict"]["status"], "oversold");
    db.assert_agrees_with(&run);
}

#[test]
fn locking_only_the_write_on_a_server_still_oversells() {
    let Some(db) = pg_cluster::database("write_scope") else {
        return;
    };
    for lock in ["row", "advisory"] {
        let run = db.race(&[
            "--lock-scope",
            "write",
            "--db-lock",
            lock,
            "--buyers",
            "5",
            "--tickets",
            "2",
            "--delay-ms",
            "200..300",
        ]);
        run.assert_code(0);
        let report = run.report();
        let (_, confirmed, _, _) = tally(&run);
        assert_eq!(confirmed, 5, "{}", run.context());
        assert_eq!(report["verdict"]["status"], "oversold");
        let cause = report["verdict"]["cause"].as_str().unwrap_or_default();
        assert!(
            cause.contains("The lock covered only the write"),
            "{}",
            run.context()
        );
        db.assert_agrees_with(&run);
    }
}

/// The whole-purchase lock (both kinds), the atomic UPDATE and SERIALIZABLE each sell every
/// ticket exactly once, buyers buying until the stock is gone.
#[test]
fn every_safe_mode_sells_each_ticket_exactly_once() {
    let Some(db) = pg_cluster::database("safe_modes") else {
        return;
    };
    for mode in SAFE_MODES {
        let mut args = vec![
            "--buyers",
            "4",
            "--tickets",
            "60",
            "--per-buyer",
            "all",
            "--delay-ms",
            "0..2",
            "--check",
        ];
        args.extend_from_slice(mode);
        let run = db.race(&args);
        run.assert_code(0);
        let report = run.report();
        assert_eq!(tally(&run), (60, 60, 0, 60), "{mode:?}{}", run.context());
        assert_eq!(report["verdict"]["status"], "ok");
        db.assert_agrees_with(&run);
        // Each sale has its own order number: no two buyers sold against the same count.
        let mut seqs: Vec<u64> = report["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "ordered")
            .map(|e| e["seq"].as_u64().unwrap())
            .collect();
        let streamed = seqs.len();
        seqs.sort_unstable();
        seqs.dedup();
        assert_eq!(
            seqs.len(),
            streamed,
            "{mode:?}: a seq sold twice{}",
            run.context()
        );
    }
}

#[test]
fn the_row_lock_is_held_across_the_delay_so_critical_sections_never_overlap() {
    let Some(db) = pg_cluster::database("row_lock") else {
        return;
    };
    let run = db.race(&["--buyers", "4", "--tickets", "2", "--delay-ms", "10..30"]);
    run.assert_code(0);
    let report = run.report();
    assert_eq!(tally(&run), (2, 2, 0, 2), "{}", run.context());
    assert_eq!(report["settings"]["store"], "postgres");
    assert_eq!(report["settings"]["db_lock"], "row");
    let mut sections: Vec<(u64, u64)> = Vec::new();
    for buyer in report["buyers"].as_array().unwrap() {
        let mine: Vec<&Value> = report["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["buyer"] == buyer["buyer"])
            .collect();
        let acquired = mine.iter().find(|e| e["kind"] == "lock_acquired");
        let released = mine.iter().find(|e| e["kind"] == "lock_released");
        if let (Some(a), Some(r)) = (acquired, released) {
            sections.push((a["t_us"].as_u64().unwrap(), r["t_us"].as_u64().unwrap()));
        }
    }
    assert_eq!(sections.len(), 4, "{}", run.context());
    sections.sort_unstable();
    for pair in sections.windows(2) {
        assert!(
            pair[0].1 <= pair[1].0,
            "overlapping critical sections {pair:?}"
        );
    }
}

#[test]
fn serializable_purchases_are_refused_and_retried_never_oversold() {
    let Some(db) = pg_cluster::database("serializable") else {
        return;
    };
    let run = db.race(&[
        "--serializable",
        "--buyers",
        "4",
        "--tickets",
        "2",
        "--delay-ms",
        "100..150",
    ]);
    run.assert_code(0);
    let report = run.report();
    assert_eq!(tally(&run), (2, 2, 0, 2), "{}", run.context());
    // All four read 2 within a few ms; only the first write can commit, so the other three
    // are refused at least once.
    let retries = report["retries"].as_u64().unwrap();
    assert!(retries >= 3, "{}", run.context());
    let per_buyer: u64 = report["buyers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["retries"].as_u64().unwrap())
        .sum();
    assert_eq!(per_buyer, retries);
    let refused = report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "retried")
        .count() as u64;
    assert_eq!(refused, retries, "{}", run.context());
    assert_eq!(report["settings"]["method"], "serializable");
    db.assert_agrees_with(&run);
}

#[test]
fn the_text_report_names_the_database_and_its_tables() {
    let Some(db) = pg_cluster::database("text") else {
        return;
    };
    let trace = tempfile::NamedTempFile::new().unwrap();
    let out = db.run(&[
        "--buyers",
        "3",
        "--tickets",
        "1",
        "--delay-ms",
        "40..60",
        "--serializable",
        "--trace",
        trace.path().to_str().unwrap(),
    ]);
    out.assert_code(0)
        .assert_stdout_contains(", SERIALIZABLE transactions retried on conflict, no lock")
        .assert_stdout_contains("REFUSED by the database")
        .assert_stdout_contains("left in stock row")
        .assert_stdout_contains("in orders table")
        .assert_stdout_contains("retries")
        .assert_stdout_contains("? refused by the database, retried")
        .assert_stdout_contains("OK: 1 ticket, 1 sold, 2 sold out");
    let text = std::fs::read_to_string(trace.path()).unwrap();
    let trace: Value = serde_json::from_str(&text).expect("the trace is JSON");
    let retried = trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["name"] == "retried");
    assert!(retried, "{}", out.context());
}

#[test]
fn a_waiting_buyer_names_the_holder_of_the_row_lock_and_times_out() {
    let Some(db) = pg_cluster::database("lock_wait") else {
        return;
    };
    for lock in ["row", "advisory"] {
        waits_for_its_own_holder_and_times_out(&db, lock);
    }
}

/// Advisory locks belong to a database, but pg_locks lists every database's: a waiter must
/// name the holder in its own database, not another shop's buyer on the same server (seen
/// under a loaded `cargo test`: "held by pid 11622", a buyer of a parallel test).
#[test]
fn an_advisory_waiter_names_the_holder_in_its_own_database() {
    let (Some(other), Some(db)) = (
        pg_cluster::database("advisory_other"),
        pg_cluster::database("advisory_own"),
    ) else {
        return;
    };
    // Another shop holds the same advisory key for about a second, one sale at a time.
    let other_race = on(&other.url())
        .args(["--db-lock", "advisory"])
        .tickets(40)
        .buyers(2)
        .per_buyer("all")
        .delay("20..30")
        .spawn();
    waits_for_its_own_holder_and_times_out(&db, "advisory");
    other_race.finish().assert_success();
}

/// Buyer 2 (or 1) waits 50 ms for the lock its rival holds for 400 ms, and gives up.
fn waits_for_its_own_holder_and_times_out(db: &pg_cluster::Db, lock: &str) {
    let out = db.run(&[
        "--db-lock",
        lock,
        "--buyers",
        "2",
        "--tickets",
        "2",
        "--delay-ms",
        "400..400",
        "--lock-timeout",
        "50",
    ]);
    out.assert_code(0)
        .assert_stdout_contains("waits for the lock, held by buyer-")
        .assert_stdout_contains(
            "gives up waiting for the lock (--lock-timeout), still held by buyer-",
        )
        .assert_stdout_contains("lock timeout               1");
}

#[test]
fn keep_stock_continues_from_the_stock_row() {
    let Some(db) = pg_cluster::database("keep_stock") else {
        return;
    };
    let first = db.race(&["--buyers", "2", "--tickets", "5", "--delay-ms", "0..1"]);
    first.assert_code(0);
    assert_eq!(tally(&first), (5, 2, 3, 2));
    let second = db.race(&[
        "--keep-stock",
        "--buyers",
        "4",
        "--delay-ms",
        "0..1",
        "--check",
    ]);
    second.assert_code(0);
    assert_eq!(tally(&second), (3, 3, 0, 3), "{}", second.context());
    // Nothing is ever deleted: two restocks... one restock and five orders.
    assert_eq!(db.all_orders(), 1 + 5);
}

#[test]
fn keep_stock_on_a_database_without_a_stock_says_how_to_set_one() {
    let Some(db) = pg_cluster::database("no_stock") else {
        return;
    };
    db.run(&["--keep-stock"])
        .assert_code(3)
        .assert_stderr_contains("has no stock yet")
        .assert_stderr_contains("without --keep-stock");
}

#[test]
fn a_password_reaches_the_buyers_but_is_never_shown() {
    let Some(db) = pg_cluster::database("password") else {
        return;
    };
    let url = db.tcp_url(pg_cluster::PASSWORD);
    let out = on(&url).json().buyers(3).tickets(2).delay("0..1").run();
    out.assert_code(0);
    assert!(
        !out.stdout().contains(pg_cluster::PASSWORD),
        "{}",
        out.context()
    );
    assert_eq!(tally(&out), (2, 2, 0, 2), "{}", out.context());
    // PGPASSWORD works as it does for psql.
    on(&db.tcp_url("").replace(":@", "@"))
        .configure(|command| {
            command.env("PGPASSWORD", pg_cluster::PASSWORD);
        })
        .quiet()
        .buyers(2)
        .tickets(1)
        .delay("0..1")
        .run()
        .assert_code(0)
        .assert_stdout_contains("OK: 1 ticket, 1 sold");
}

/// Three launchers, standing in for three machines, race for one stock with --keep-stock:
/// each report attributes the others' sales, and together they sold every ticket once.
#[test]
fn launchers_sharing_one_database_race_together_and_their_reports_agree() {
    let Some(db) = pg_cluster::database("many_launchers") else {
        return;
    };
    let tickets = 90;
    db.race(&[
        "--buyers",
        "1",
        "--tickets",
        &tickets.to_string(),
        "--per-buyer",
        "1",
        "--delay-ms",
        "0..0",
    ])
    .assert_code(0);
    // Started together, read together: Live collects each one's output as it comes.
    let launches: Vec<_> = (0..3)
        .map(|_| {
            on(&db.url())
                .json()
                .keep_stock()
                .buyers(3)
                .per_buyer("all")
                .delay("5..15")
                .check()
                .spawn()
        })
        .collect();
    let runs: Vec<Run> = launches.into_iter().map(|live| live.finish()).collect();
    let mut sold_by_all = 0;
    let mut attributed = 0;
    for run in &runs {
        run.assert_code(0);
        let report = run.report();
        let (initial, confirmed, remaining, logged) = tally(run);
        let others = report["tally"]["sold_by_others"].as_u64().unwrap();
        assert_eq!(confirmed, logged, "{}", run.context());
        assert_eq!(remaining + logged + others, initial, "{}", run.context());
        assert_eq!(report["verdict"]["status"], "ok", "{}", run.context());
        let named: u64 = report["others"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["sold"].as_u64().unwrap())
            .sum();
        assert_eq!(named, others, "{}", run.context());
        attributed += others;
        sold_by_all += confirmed;
    }
    assert_eq!(
        sold_by_all,
        tickets - 1,
        "the launchers' own sales add up to the stock"
    );
    assert_eq!(db.stock().0, 0);
    assert!(attributed > 0, "no launcher saw another one's sales");
}

/// Two safe modes at once on one stock (issue 20: row lock beside advisory sold 79 of 20):
/// the advisory holder reads the row FOR UPDATE too, so no mode writes a count another has
/// changed. Every pair of the safe modes, each launcher `--keep-stock --per-buyer all`.
#[test]
fn every_pair_of_safe_modes_racing_together_oversells_nothing() {
    for (i, first) in SAFE_MODES.iter().enumerate() {
        for second in &SAFE_MODES[i + 1..] {
            let Some(db) = pg_cluster::database("safe_pairs") else {
                return;
            };
            two_safe_modes_sell_each_ticket_once(&db, first, second);
        }
    }
}

fn two_safe_modes_sell_each_ticket_once(db: &pg_cluster::Db, first: &[&str], second: &[&str]) {
    let tickets = 20;
    db.race(&[
        "--buyers",
        "1",
        "--tickets",
        &tickets.to_string(),
        "--per-buyer",
        "1",
    ])
    .assert_code(0);
    let launches: Vec<_> = [first, second]
        .into_iter()
        .map(|mode| {
            on(&db.url())
                .json()
                .keep_stock()
                .buyers(4)
                .per_buyer("all")
                .delay("1..5")
                .args(mode)
                .spawn()
        })
        .collect();
    let runs: Vec<Run> = launches.into_iter().map(|live| live.finish()).collect();
    let mut sold_by_all = 0;
    for run in &runs {
        run.assert_code(0);
        assert_eq!(run.report()["verdict"]["status"], "ok", "{}", run.context());
        sold_by_all += tally(run).1;
    }
    assert_eq!(
        sold_by_all,
        tickets - 1,
        "{first:?} beside {second:?}: each ticket sold once between them"
    );
    assert_eq!(db.stock().0, 0);
}
