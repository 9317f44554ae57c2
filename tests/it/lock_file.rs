//! The lock holds even when its file is deleted or replaced mid-race: whoever is granted a
//! lock checks that the lock path still names the locked file, and a holder checks again
//! before it writes; each re-lock is narrated, counted and traced. And the lock is the plain
//! flock(2) of docs/protocol.md: util-linux `flock(1)` on the sidecar makes buyers wait.

use crate::common::{BACKSTOP, Run, TestEnv};
use serde_json::Value;
use std::fs;
use std::time::{Duration, Instant};

/// Whether some line read so far contains `needle`.
fn has_line(needle: &str) -> impl Fn(&[String]) -> bool + '_ {
    move |lines| lines.iter().any(|l| l.contains(needle))
}

/// The order log's entries, each one JSON line of `ORDER_ENTRY_LEN` bytes.
fn log_entries(env: &TestEnv) -> Vec<Value> {
    let bytes = fs::read(env.order_log()).unwrap();
    bytes
        .chunks(grab_tickets::ORDER_ENTRY_LEN)
        .map(|line| serde_json::from_slice(line).expect("a log entry is JSON"))
        .collect()
}

/// Times the run's buyers and launcher found the lock file deleted or replaced.
fn relocks_of(run: &Run) -> u64 {
    let buyers: u64 = run
        .buyers()
        .iter()
        .map(|b| b["relocks"].as_u64().unwrap())
        .sum();
    buyers + run.report()["launcher_relocks"].as_u64().unwrap()
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine: a file deleted while others hold it open keeps its name until the last handle closes; NTFS on Windows 10 removes the name at once (POSIX delete)"
)]
fn deleting_the_lock_file_mid_race_while_a_second_launcher_joins_never_oversells() {
    for round in 1..=5 {
        let env = TestEnv::with_data("{\"ticket_num\": 40}\n");
        let race = || env.race().json().buyers(4).per_buyer("all").delay("5..10");
        let first = race().tickets(40).spawn();
        // The signal: the restock and three sales are in the log, so the race is on.
        let deadline = Instant::now() + BACKSTOP;
        while fs::metadata(env.order_log()).map_or(0, |m| m.len())
            < 4 * grab_tickets::ORDER_ENTRY_LEN as u64
        {
            assert!(
                Instant::now() < deadline,
                "round {round}: no sales in the log"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        fs::remove_file(env.lock_file()).unwrap();
        let second = race().keep_stock().run();
        let first = first.finish();
        let both = format!("round {round}{}{}", first.context(), second.context());
        first.assert_success();
        second.assert_success();

        let orders: Vec<Value> = log_entries(&env)
            .into_iter()
            .filter(|e| e["kind"] == "order")
            .collect();
        let mut seqs: Vec<u64> = orders.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        seqs.sort_unstable();
        seqs.dedup();
        assert_eq!(seqs.len(), orders.len(), "two sales of one seq: {both}");
        let confirmed = first.tally().confirmed + second.tally().confirmed;
        assert!(confirmed <= 40, "OVERSOLD: {confirmed} of 40: {both}");
        assert_eq!(confirmed, orders.len() as u64, "{both}");
        assert_eq!(env.ticket_num(), 40 - orders.len() as u64, "{both}");
        first
            .assert_that(
                relocks_of(&first) >= 1,
                "the first run's buyers never noticed",
            )
            .assert_that(
                first.report()["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["kind"] == "relocked"),
                "no relocked event",
            );
    }
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine: renaming over a file others hold open is refused (Access denied); Windows 10's POSIX rename, which std falls back to, replaces it"
)]
fn a_lock_file_replaced_by_a_new_regular_file_is_locked_anew() {
    let env = TestEnv::new();
    let trace = env.path("race.json");
    let race = env.race().buyers(3).tickets(6).per_buyer("all");
    let mut live = race.delay("20..20").trace(&trace).spawn();
    // A buyer holds the lock (and sits in its 20 ms delay) when its file is replaced.
    live.wait_for("a buyer to take the lock", has_line("takes the lock"));
    let replacement = env.path("data.json.lock.new");
    fs::write(&replacement, "").unwrap();
    fs::rename(&replacement, env.lock_file()).unwrap();
    let run = live.finish();
    run.assert_success()
        .assert_stdout_contains("the lock file was deleted or replaced; locked the new one")
        .assert_stdout_contains("lock file lost")
        .assert_stdout_contains("OK: 6 tickets, 6 sold")
        .assert_tickets_left(0);
    let trace: Value = serde_json::from_slice(&fs::read(&trace).unwrap()).unwrap();
    let relocked = trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "relocked" && e["args"]["lock_file"] == "replaced")
        .count();
    run.assert_that(relocked >= 1, "no relocked instant in the trace");
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine: a file deleted while others hold it open keeps its name until the last handle closes; NTFS on Windows 10 removes the name at once (POSIX delete)"
)]
fn a_lock_file_deleted_under_its_holder_is_narrated_and_counted() {
    let env = TestEnv::new();
    let mut live = env.race().buyers(3).tickets(2).delay("500..500").spawn();
    // The holder sits in its 500 ms delay, under the lock, when the file goes.
    live.wait_for("a buyer to take the lock", has_line("takes the lock"));
    fs::remove_file(env.lock_file()).unwrap();
    live.finish()
        .assert_success()
        // The holder, about to write, finds its lock file gone (or, if a buyer that opened
        // the path late made a new one, another file there) and writes nothing.
        .assert_stdout_contains(
            "while it held the lock, so the lock no longer kept anyone out: writes nothing, \
             lets go and starts the purchase again",
        )
        // Whoever is granted the old file's lock next locks the file at the path now.
        .assert_stdout_contains("; locked the new one")
        .assert_stdout_contains("lock file lost")
        .assert_stdout_contains("OK: 2 tickets, 2 sold")
        .assert_that(env.lock_file().exists(), "no lock file at the end");
}

// Unix-only: util-linux flock(1) holds the lock, as an outside program would.
#[cfg(unix)]
#[test]
fn a_lock_held_by_util_linux_flock_makes_buyers_wait() {
    use crate::common::process::wait_until_gone;
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::mpsc::channel;
    let env = TestEnv::new();
    let race = env.race().buyers(1).tickets(30).per_buyer("all");
    let mut live = race.delay("10..10").spawn();
    live.wait_for("the buyer to take the lock", has_line("takes the lock"));

    // flock(1) waits for the buyer to let go, takes the lock, says so, and holds it until
    // its stdin closes.
    let mut holder = Command::new("flock")
        .arg(env.lock_file())
        .args(["-c", "echo locked; read line || true"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run flock(1) from util-linux");
    let (said, heard) = channel();
    let holder_stdout = holder.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(holder_stdout).read_line(&mut line);
        let _ = said.send(line);
    });
    let line = heard
        .recv_timeout(BACKSTOP)
        .expect("flock(1) took the lock");
    assert_eq!(line.trim(), "locked");
    // Whatever the buyer did before flock(1) got the lock is on disk now.
    let while_held = fs::read(&env.data).unwrap();
    let lines = live.wait_for("the buyer to wait", has_line("waits for the lock"));
    let waiting = lines
        .iter()
        .find(|l| l.contains("waits for the lock"))
        .unwrap();
    assert!(
        waiting.contains("its holder has written no pid"),
        "flock(1) writes no pid: {waiting}"
    );
    assert_eq!(
        fs::read(&env.data).unwrap(),
        while_held,
        "a buyer wrote while flock(1) held the lock"
    );
    drop(holder.stdin.take()); // flock(1)'s `read` ends: it exits and lets go
    assert!(
        wait_until_gone(holder.id(), BACKSTOP),
        "flock(1) did not exit"
    );
    holder.wait().unwrap();

    live.finish()
        .assert_success()
        .assert_stdout_contains("OK: 30 tickets, 30 sold");
}

#[test]
fn a_pid_slot_a_power_cut_zeroed_tore_or_left_stale_is_used_as_it_is() {
    // The pid slot is written in place and never synced, so a power cut may leave any of
    // these; the explorer counts such states as one, since nothing decides on the slot.
    for slot in [&[0u8; 12][..], b"42", b"4194305    \n", b"12\x00\x00"] {
        let env = TestEnv::new();
        env.sell_tickets(1);
        fs::write(env.lock_file(), slot).unwrap();
        let run = env
            .race()
            .keep_stock()
            .buyers(3)
            .per_buyer("all")
            .delay("0..0")
            .quiet()
            .check()
            .run();
        run.assert_success()
            .assert_stdout_contains("OK: 2 tickets, 2 sold")
            .assert_tickets_left(0);
    }
}
