//! The lock holds even when its file is deleted or replaced mid-race: whoever is granted a
//! lock checks that the lock path still names the locked file, and a holder checks again
//! before it writes; each re-lock is narrated, counted and traced. And the lock is the plain
//! flock(2) of README's protocol: util-linux `flock(1)` on the sidecar makes buyers wait.

mod common;
use common::{Run, TestEnv, tally};
use serde_json::Value;
use std::fs;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// How long any signal is waited for before the test gives up (a backstop, not a timing).
const BACKSTOP: Duration = Duration::from_secs(60);

/// Starts `cmd` with stdout piped; its lines arrive on the returned channel as printed.
fn spawn_with_lines(mut cmd: Command) -> (Child, Receiver<String>) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Reads lines until one contains `needle`; returns every line read, that one last.
fn wait_for_line(lines: &Receiver<String>, needle: &str) -> Vec<String> {
    let deadline = Instant::now() + BACKSTOP;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return seen;
                }
            }
            Err(e) => panic!(
                "no line with {needle:?} ({e}); lines so far:\n{}",
                seen.join("\n")
            ),
        }
    }
}

/// The rest of a child's output, once it has exited.
fn finish(child: Child, lines: Receiver<String>, command: &str) -> (Run, String) {
    let output = child.wait_with_output().expect("wait");
    let stdout: Vec<String> = lines.iter().collect();
    (
        Run {
            command: command.to_string(),
            output,
        },
        stdout.join("\n"),
    )
}

/// The order log's entries, each one JSON line of `ORDER_ENTRY_LEN` bytes.
fn log_entries(env: &TestEnv) -> Vec<Value> {
    let bytes = fs::read(env.path("data.json.orders")).unwrap();
    bytes
        .chunks(grab_tickets::ORDER_ENTRY_LEN)
        .map(|line| serde_json::from_slice(line).expect("a log entry is JSON"))
        .collect()
}

fn relocks_of(report: &Value) -> u64 {
    let buyers: u64 = report["buyers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["relocks"].as_u64().unwrap())
        .sum();
    buyers + report["launcher_relocks"].as_u64().unwrap()
}

#[test]
fn deleting_the_lock_file_mid_race_while_a_second_launcher_joins_never_oversells() {
    let race = [
        "--json",
        "--buyers",
        "4",
        "--per-buyer",
        "all",
        "--delay-ms",
        "5..10",
    ];
    for round in 1..=5 {
        let env = TestEnv::with_data("{\"ticket_num\": 40}\n");
        let mut args = race.to_vec();
        args.extend(["--tickets", "40"]);
        let mut first_cmd = env.command(&args);
        first_cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let first = first_cmd.spawn().unwrap();
        // The signal: the restock and three sales are in the log, so the race is on.
        let log = env.path("data.json.orders");
        let deadline = Instant::now() + BACKSTOP;
        while fs::metadata(&log).map_or(0, |m| m.len()) < 4 * grab_tickets::ORDER_ENTRY_LEN as u64 {
            assert!(
                Instant::now() < deadline,
                "round {round}: no sales in the log"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        fs::remove_file(env.path("data.json.lock")).unwrap();
        let mut args = race.to_vec();
        args.push("--keep-stock");
        let second = env.run(&args);
        let second_report = second.json();
        let first = Run {
            command: format!("{first_cmd:?}"),
            output: first.wait_with_output().unwrap(),
        };
        first.assert_code(0);
        second.assert_code(0);
        let first_report = first.json();
        let context = format!("round {round}{}{}", first.context(), second.context());

        let (_, confirmed_first, _, _) = tally(&first_report);
        let (_, confirmed_second, _, _) = tally(&second_report);
        let orders: Vec<Value> = log_entries(&env)
            .into_iter()
            .filter(|e| e["kind"] == "order")
            .collect();
        let mut seqs: Vec<u64> = orders.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        seqs.sort_unstable();
        seqs.dedup();
        assert_eq!(seqs.len(), orders.len(), "two sales of one seq: {context}");
        assert!(
            confirmed_first + confirmed_second <= 40,
            "OVERSOLD: {confirmed_first} + {confirmed_second} of 40: {context}"
        );
        assert_eq!(
            confirmed_first + confirmed_second,
            orders.len() as u64,
            "{context}"
        );
        assert_eq!(env.ticket_num(), 40 - orders.len() as u64, "{context}");
        assert!(
            relocks_of(&first_report) >= 1,
            "the first run's buyers never noticed: {context}"
        );
        let events = first_report["events"].as_array().unwrap();
        assert!(
            events.iter().any(|e| e["kind"] == "relocked"),
            "no relocked event: {context}"
        );
    }
}

#[test]
fn a_lock_file_replaced_by_a_new_regular_file_is_locked_anew() {
    let env = TestEnv::new();
    let trace = env.path("race.json");
    let mut cmd = env.command(&[
        "--buyers",
        "3",
        "--tickets",
        "6",
        "--per-buyer",
        "all",
        "--delay-ms",
        "20..20",
        "--trace",
    ]);
    cmd.arg(&trace);
    let command = format!("{cmd:?}");
    let (child, lines) = spawn_with_lines(cmd);
    // A buyer holds the lock (and sits in its 20 ms delay) when its file is replaced.
    wait_for_line(&lines, "takes the lock");
    let lock = env.path("data.json.lock");
    let replacement = env.path("data.json.lock.new");
    fs::write(&replacement, "").unwrap();
    fs::rename(&replacement, &lock).unwrap();
    let (run, stdout) = finish(child, lines, &command);
    run.assert_code(0);
    let context = format!("{}\n--- stdout read:\n{stdout}", run.context());
    for needle in [
        "the lock file was deleted or replaced; locked the new one",
        "lock file lost",
        "OK: 6 tickets, 6 sold",
    ] {
        assert!(stdout.contains(needle), "no {needle:?}: {context}");
    }
    assert_eq!(env.ticket_num(), 0, "{context}");
    let trace: Value = serde_json::from_slice(&fs::read(&trace).unwrap()).unwrap();
    let relocked = trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "relocked" && e["args"]["lock_file"] == "replaced")
        .count();
    assert!(relocked >= 1, "no relocked instant in the trace: {context}");
}

#[test]
fn a_lock_file_deleted_under_its_holder_is_narrated_and_counted() {
    let env = TestEnv::new();
    let cmd = env.command(&["--buyers", "3", "--tickets", "2", "--delay-ms", "200..200"]);
    let command = format!("{cmd:?}");
    let (child, lines) = spawn_with_lines(cmd);
    // The holder sits in its 200 ms delay, under the lock, when the file goes.
    wait_for_line(&lines, "takes the lock");
    fs::remove_file(env.path("data.json.lock")).unwrap();
    let (run, stdout) = finish(child, lines, &command);
    run.assert_code(0);
    let context = format!("{}\n--- stdout read:\n{stdout}", run.context());
    for needle in [
        // The holder, about to write, finds its lock file gone (or, if a buyer that opened
        // the path late made a new one, another file there) and writes nothing.
        "while it held the lock, so the lock no longer kept anyone out: writes nothing, lets \
         go and starts the purchase again",
        // Whoever is granted the old file's lock next locks the file at the path now.
        "; locked the new one",
        "lock file lost",
        "OK: 2 tickets, 2 sold",
    ] {
        assert!(stdout.contains(needle), "no {needle:?}: {context}");
    }
    assert!(env.path("data.json.lock").exists(), "{context}");
}

#[test]
fn a_lock_held_by_util_linux_flock_makes_buyers_wait() {
    let env = TestEnv::new();
    let cmd = env.command(&[
        "--buyers",
        "1",
        "--tickets",
        "30",
        "--per-buyer",
        "all",
        "--delay-ms",
        "10..10",
    ]);
    let command = format!("{cmd:?}");
    let (race, race_lines) = spawn_with_lines(cmd);
    wait_for_line(&race_lines, "takes the lock");

    // flock(1) waits for the buyer to let go, takes the lock, says so, and holds it until
    // its stdin closes.
    let mut holder_cmd = Command::new("flock");
    holder_cmd
        .arg(env.path("data.json.lock"))
        .args(["-c", "echo locked; read line || true"]);
    let (mut holder, holder_lines) = spawn_with_lines(holder_cmd);
    wait_for_line(&holder_lines, "locked");
    // Whatever the buyer had done before flock(1) got the lock is on disk now.
    let while_held = env.data_bytes();
    let lines = wait_for_line(&race_lines, "waits for the lock");
    let waiting = lines.last().unwrap();
    assert!(
        waiting.contains("held by another process"),
        "flock(1) writes no pid: {waiting}"
    );
    assert_eq!(
        env.data_bytes(),
        while_held,
        "a buyer wrote while flock(1) held the lock"
    );
    drop(holder.stdin.take()); // flock(1)'s `read` ends: it exits and lets go
    assert!(holder.wait().unwrap().success());

    let (run, stdout) = finish(race, race_lines, &command);
    run.assert_code(0);
    assert!(
        stdout.contains("OK: 30 tickets, 30 sold"),
        "{}\n--- stdout read:\n{stdout}",
        run.context()
    );
}
