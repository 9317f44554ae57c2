//! Faults with the database store, on a real server: a buyer SIGKILLed inside its transaction
//! (the server rolls it back and frees its lock), the server restarted mid-race, and every way
//! of not getting in (refused, wrong password, missing database, malformed URL), each with one
//! clear message, a documented exit code and the stock untouched.

use crate::common;
use crate::pg_cluster;
use std::time::{Duration, Instant};

use crate::common::Run;
use crate::pg_cluster::Db;
use crate::pg_cluster::{on, tally};
use serde_json::Value;

/// Three buyers, three tickets, buyer 1 SIGKILLs itself at `step` (with `mode` flags); the
/// invariants hold and buyer 1 was killed. Returns the report.
fn kill_buyer_one_at(db: &Db, step: &str, mode: &[&str]) -> Run {
    let kill = format!("1:{step}");
    let mut args = vec![
        "--buyers",
        "3",
        "--tickets",
        "3",
        "--delay-ms",
        "0..2",
        "--check",
        "--kill-at",
        &kill,
    ];
    args.extend_from_slice(mode);
    let run = db.race(&args);
    run.assert_code(0);
    let report = run.report();
    let context = run.context();
    assert_eq!(report["buyers"][0]["ending"]["how"], "killed", "{context}");
    assert_eq!(report["buyers"][0]["ending"]["signal"], 9, "{context}");
    let (initial, confirmed, remaining, logged) = tally(&run);
    assert!(confirmed <= initial, "oversold{context}");
    assert_eq!(
        remaining + logged,
        initial,
        "a ticket unaccounted for{context}"
    );
    assert_eq!(report["verdict"]["status"], "ok", "{context}");
    db.assert_agrees_with(&run);
    assert_eq!(
        db.open_transactions(),
        0,
        "a transaction was left open{context}"
    );
    run
}

#[test]
fn a_buyer_killed_inside_its_transaction_sold_nothing_and_freed_the_lock() {
    let Some(db) = pg_cluster::database("killed_in_transaction") else {
        return;
    };
    let modes: [&[&str]; 3] = [
        &["--db-lock", "row"],
        &["--db-lock", "advisory"],
        &["--serializable"],
    ];
    for mode in modes {
        // Holding the lock, after the sale's statement, and (under a lock) after the write
        // but before the COMMIT: the server rolls each back, so buyer 1 sold nothing, and
        // the other two got past its lock and bought one ticket each.
        for step in ["lock_held", "order_logged", "data_written"] {
            if step == "data_written" && mode == ["--serializable"] {
                continue; // its COMMIT follows the write directly
            }
            let run = kill_buyer_one_at(&db, step, mode);
            let report = run.report();
            let context = run.context();
            assert_eq!(report["buyers"][0]["logged"], 0, "{mode:?} {step}{context}");
            assert_eq!(tally(&run), (3, 2, 1, 2), "{mode:?} {step}{context}");
            run.assert_stdout_contains("\"unconfirmed\": 0");
        }
    }
}

#[test]
fn a_buyer_killed_after_its_commit_keeps_an_unconfirmed_sale() {
    let Some(db) = pg_cluster::database("killed_after_commit") else {
        return;
    };
    let modes: [&[&str]; 3] = [&["--db-lock", "row"], &["--atomic"], &["--serializable"]];
    for mode in modes {
        let run = kill_buyer_one_at(&db, "released", mode);
        let report = run.report();
        let context = run.context();
        // Committed, so sold; killed before it could say so.
        assert_eq!(report["buyers"][0]["logged"], 1, "{mode:?}{context}");
        assert_eq!(report["buyers"][0]["confirmed"], 0, "{mode:?}{context}");
        assert_eq!(report["tally"]["unconfirmed"], 1, "{mode:?}{context}");
        assert_eq!(tally(&run), (3, 2, 0, 3), "{mode:?}{context}");
    }
}

#[test]
fn a_kill_step_the_database_never_reaches_is_refused() {
    let Some(db) = pg_cluster::database("kill_step") else {
        return;
    };
    on(&db.url())
        .args(["--kill-at", "1:temp_written"])
        .run()
        .assert_code(2)
        .assert_stderr_contains("names a step this run never reaches");
}

/// The server restarts while buyers hold and wait for the row lock: each buyer stops with a
/// clear error, the launcher reconnects to read the result, and nothing is oversold.
#[test]
fn a_server_restarted_mid_race_stops_the_buyers_and_oversells_nothing() {
    // A cluster of its own: restarting the shared one would break the other tests.
    let Some(cluster) = pg_cluster::Cluster::start() else {
        pg_cluster::skipped("a_server_restarted_mid_race_stops_the_buyers_and_oversells_nothing");
        return;
    };
    let db = cluster.create_database("restart");
    let tickets = 50;
    let live = on(&db.url())
        .json()
        .buyers(4)
        .tickets(tickets)
        .per_buyer("all")
        .delay("20..40")
        .spawn();
    // The signal: the first sale is in the orders table (polled, with a backstop).
    let deadline = Instant::now() + common::BACKSTOP;
    loop {
        let sold = db
            .client()
            .query_one(
                "SELECT count(*) FROM grab_tickets.orders WHERE kind = 'order'",
                &[],
            )
            .map(|row| row.get::<_, i64>(0))
            .unwrap_or(0);
        if sold > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "no sale before the backstop");
        std::thread::sleep(Duration::from_millis(5));
    }
    cluster.restart();
    let run = live.finish();
    let context = run.context();
    // A buyer failed (it lost its connection): exit 5, and the report says what happened.
    run.assert_code(5);
    let report = run.report();
    let failed: Vec<&Value> = report["buyers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["ending"]["how"] == "failed")
        .collect();
    assert!(!failed.is_empty(), "{context}");
    for buyer in &failed {
        let message = buyer["ending"]["message"].as_str().unwrap();
        assert!(message.contains("lost the connection"), "{context}");
        assert!(
            message.contains("rolls back whatever was not committed"),
            "{context}"
        );
    }
    let (initial, confirmed, remaining, logged) = tally(&run);
    assert_eq!(initial, tickets);
    assert!(
        confirmed < tickets,
        "the race should have been cut short{context}"
    );
    assert!(confirmed <= logged, "{context}");
    assert_eq!(remaining + logged, initial, "{context}");
    assert_eq!(report["tally"]["oversold"], 0, "{context}");
    assert_eq!(report["tally"]["lost_updates"], 0, "{context}");
    db.assert_agrees_with(&run);
    // The text report says it in words.
    let verdict = report["verdict"]["line"].as_str().unwrap();
    assert!(verdict.starts_with("OK:"), "{context}");
}

#[test]
fn a_restart_is_explained_in_the_text_report() {
    let Some(cluster) = pg_cluster::Cluster::start() else {
        pg_cluster::skipped("a_restart_is_explained_in_the_text_report");
        return;
    };
    let db = cluster.create_database("restart_text");
    let mut live = on(&db.url())
        .buyers(3)
        .tickets(40)
        .per_buyer("all")
        .delay("20..40")
        .spawn();
    // The signal: the launcher narrates the first confirmed sale.
    live.wait_for("a sale", |lines| lines.iter().any(|l| l.contains("BOUGHT")));
    cluster.restart();
    let run = live.finish();
    run.assert_code(5)
        .assert_stdout_contains("the database server dropped")
        .assert_stdout_contains("lost the connection");
    // "3 buyers' connections", "1 buyer's connection": the possessive agrees with the count.
    let out = run.stdout();
    assert!(
        out.contains("buyers' connections") || out.contains("dropped 1 buyer's connection "),
        "{}",
        run.context()
    );
}

/// A buyer's own failure reaches the report in the run's language: the buyers that lost
/// their connection say so in Chinese, not in the English a buyer process spoke before.
#[test]
fn a_buyers_lost_connection_is_told_in_chinese() {
    let Some(cluster) = pg_cluster::Cluster::start() else {
        pg_cluster::skipped("a_buyers_lost_connection_is_told_in_chinese");
        return;
    };
    let db = cluster.create_database("restart_zh");
    let mut live = on(&db.url())
        .env("LANG", "zh_CN.UTF-8")
        .env("LC_ALL", "zh_CN.UTF-8")
        .buyers(3)
        .tickets(40)
        .per_buyer("all")
        .delay("20..40")
        .spawn();
    live.wait_for("a sale", |lines| {
        lines.iter().any(|l| l.contains("买票成功"))
    });
    cluster.restart();
    let run = live.finish();
    run.assert_code(5)
        .assert_stdout_contains("数据库服务器断开了")
        .assert_stdout_contains("的连接断了")
        .assert_stdout_contains("服务器会回滚所有没有提交的操作")
        .assert_stdout_lacks("lost the connection")
        .assert_stdout_lacks("rolls back");
}

#[test]
fn a_refused_connection_is_one_clear_error_and_exit_4() {
    // Nobody listens on a port we just found free.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://app@127.0.0.1:{port}/shop");
    let trace = tempfile::tempdir().unwrap();
    let trace_path = trace.path().join("race.json");
    on(&url)
        .args(["--trace", trace_path.to_str().unwrap()])
        .run()
        .assert_code(4)
        .assert_stderr_contains(&format!("failed to connect to {url}"))
        .assert_stderr_contains("Connection refused")
        .assert_stderr_contains("is the server running");
    assert!(!trace_path.exists(), "a failed run left its trace file");
}

#[test]
fn a_wrong_password_or_a_missing_database_changes_nothing() {
    let Some(db) = pg_cluster::database("bad_login") else {
        return;
    };
    let first = db.race(&["--buyers", "2", "--tickets", "5", "--delay-ms", "0..1"]);
    first.assert_code(0);
    let before = (db.stock(), db.all_orders());

    let wrong = on(&db.tcp_url("not-the-password"))
        .args(["--tickets", "9"])
        .run();
    wrong
        .assert_code(4)
        .assert_stderr_contains("failed to log in to postgres://postgres@127.0.0.1:")
        .assert_stderr_contains("password authentication failed")
        .assert_stderr_contains("PGPASSWORD");
    assert!(
        !wrong.stderr().contains("not-the-password"),
        "{}",
        wrong.context()
    );
    assert_eq!(wrong.stderr().lines().count(), 1, "{}", wrong.context());

    // No password at all, where the server asks for one: the login hint, not "is the server
    // running".
    let no_password = format!("postgres://postgres@127.0.0.1:{}/{}", db.port, db.name);
    let unasked = on(&no_password).args(["--tickets", "9"]).run();
    unasked
        .assert_code(4)
        .assert_stderr_contains(&format!("failed to log in to {no_password}"))
        .assert_stderr_contains("the server asks for a password")
        .assert_stderr_contains("PGPASSWORD");
    assert!(
        !unasked.stderr().contains("is the server running"),
        "{}",
        unasked.context()
    );
    assert_eq!(unasked.stderr().lines().count(), 1, "{}", unasked.context());

    let missing = db.url().replace(&db.name, "no_such_database");
    on(&missing)
        .args(["--tickets", "9"])
        .run()
        .assert_code(4)
        .assert_stderr_contains("database \"no_such_database\" does not exist")
        .assert_stderr_contains("createdb");

    assert_eq!(
        (db.stock(), db.all_orders()),
        before,
        "the stock was touched"
    );
}

#[test]
fn a_malformed_url_is_a_usage_error() {
    for url in [
        "mysql://app@localhost/shop",
        "postgres://app@localhost:99999/shop",
        "postgres://app@localhost:5432",
        "shop",
    ] {
        let run = on(url).run();
        run.assert_code(2)
            .assert_stderr_contains("invalid --store")
            .assert_stderr_contains("expected postgres://USER@HOST:PORT/DB");
        assert_eq!(run.stderr().lines().count(), 1, "{}", run.context());
    }
    // --atomic and friends need a database.
    common::grab_tickets()
        .arg("--atomic")
        .run()
        .assert_code(2)
        .assert_stderr_contains("--store");
}

/// The server stops mid-race and stays away: the launcher cannot read the stock row or the
/// orders table back, so the report says both are unknown and why (text and `--json`: null,
/// with the error), never "in orders table 0" while the table holds the run's sales.
#[test]
fn a_server_stopped_mid_race_leaves_the_orders_unknown_never_zero() {
    let Some(cluster) = pg_cluster::Cluster::start() else {
        pg_cluster::skipped("a_server_stopped_mid_race_leaves_the_orders_unknown_never_zero");
        return;
    };
    let db = cluster.create_database("stopped");
    let stopped_mid_race = |json: bool| {
        let race = on(&db.url())
            .env("LC_ALL", "C")
            .buyers(4)
            .tickets(500)
            .per_buyer("all")
            .delay("1..3");
        let live = if json { race.json() } else { race }.spawn();
        // The signal: three more sales are in the orders table (polled, with a backstop).
        let sold = || {
            db.client()
                .query_one(
                    "SELECT count(*) FROM grab_tickets.orders WHERE kind = 'order'",
                    &[],
                )
                .map(|row| row.get::<_, i64>(0))
                .unwrap_or(0)
        };
        let (before, deadline) = (sold(), Instant::now() + common::BACKSTOP);
        while sold() < before + 3 {
            assert!(Instant::now() < deadline, "no sale before the backstop");
            std::thread::sleep(Duration::from_millis(5));
        }
        cluster.crash();
        let run = live.finish();
        cluster.start_again();
        assert!(
            sold() > before,
            "the table holds the run's sales{}",
            run.context()
        );
        run.assert_code(4);
        run
    };
    let run = stopped_mid_race(true);
    let (report, context) = (run.report(), run.context());
    assert_eq!(report["tally"]["logged"], Value::Null, "{context}");
    assert_eq!(report["tally"]["remaining"], Value::Null, "{context}");
    assert_eq!(report["verdict"]["status"], "stock_unknown", "{context}");
    assert_eq!(
        report["logged_unread"], "orders_table_not_read_back",
        "{context}"
    );
    let reason = report["settle_error"].as_str().unwrap_or_default();
    assert!(reason.contains("failed to connect to"), "{context}");
    let run = stopped_mid_race(false);
    let row = run
        .stdout()
        .lines()
        .find(|l| l.trim_start().starts_with("in orders table"))
        .unwrap_or_default()
        .to_string();
    run.assert_that(
        row.contains("unknown") && !row.contains(" 0 "),
        format!("the orders row is not 'unknown': '{row}'"),
    )
    .assert_stdout_contains("neither the stock row nor the orders table could be read back")
    .assert_stderr_contains("failed to connect to");
}
