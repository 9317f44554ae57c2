//! Ctrl-C on the launcher stops and reaps the buyers and prints a partial report; a launcher
//! that is SIGKILLed takes its buyers with it. Both tests wait for the buyers' own output
//! (a signal), never for a fixed sleep.

mod common;
use common::TestEnv;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Starts the launcher with stdout piped; returns it and a channel of its stdout lines.
fn start(env: &TestEnv, args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = env
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start grab-tickets");
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    (child, received)
}

/// Reads lines until `done` says enough (or 20 s pass); returns everything read.
fn read_until(lines: &mpsc::Receiver<String>, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    while !done(&seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("gave up waiting; output so far:\n{}", seen.join("\n")),
        }
    }
    seen
}

/// Buyer pids from the step-by-step narration's "(pid N) searches" lines (`--verbose`).
fn buyer_pids(lines: &[String]) -> Vec<i32> {
    lines
        .iter()
        .filter(|l| l.contains(") searches"))
        .filter_map(|l| l.split("(pid ").nth(1)?.split(')').next()?.parse().ok())
        .collect()
}

/// True once `pid` is gone (or a zombie nobody has reaped yet: it can no longer act).
fn is_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

fn wait_gone(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !is_gone(pid) {
        assert!(
            Instant::now() < deadline,
            "buyer pid {pid} outlived its launcher"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "launcher did not exit");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn ctrl_c_stops_the_buyers_and_prints_a_partial_report() {
    let env = TestEnv::new();
    let (mut launcher, lines) = start(
        &env,
        &[
            "--verbose",
            "--buyers",
            "4",
            "--tickets",
            "3",
            "--delay-ms",
            "2000..2000",
        ],
    );
    // Wait until the first sale is confirmed and someone else holds the lock mid-purchase.
    let before = read_until(&lines, |seen| {
        seen.iter().filter(|l| l.contains("searches")).count() == 4
            && seen
                .iter()
                .any(|l| l.contains("BOUGHT a ticket, confirmed"))
            && seen.iter().filter(|l| l.contains("takes the lock")).count() >= 2
    });
    // SAFETY: sending SIGINT to our own child.
    unsafe { libc::kill(launcher.id() as i32, libc::SIGINT) };
    let after = read_until(&lines, |seen| {
        seen.iter()
            .any(|l| l.starts_with("OK:") || l.starts_with("MISMATCH"))
    });
    let status = wait_exit(&mut launcher);
    let all = [before.clone(), after.clone()].concat().join("\n");
    assert_eq!(status.code(), Some(130), "{all}");
    assert!(
        all.contains("INTERRUPTED: the race was stopped early"),
        "{all}"
    );
    assert!(all.contains("was killed by the interrupt"), "{all}");
    assert!(
        all.lines()
            .last()
            .unwrap()
            .starts_with("OK: 3 tickets, 1 sold"),
        "{all}"
    );
    for pid in buyer_pids(&before) {
        wait_gone(pid);
    }
    // Consistent on disk: one sale, two tickets left.
    assert_eq!(env.ticket_num(), 2, "{all}");
}

#[test]
fn a_killed_launcher_takes_its_buyers_with_it() {
    let env = TestEnv::new();
    let (mut launcher, lines) = start(
        &env,
        &["--verbose", "--buyers", "3", "--delay-ms", "2000..2000"],
    );
    let seen = read_until(&lines, |seen| {
        seen.iter().filter(|l| l.contains("searches")).count() == 3
            && seen.iter().any(|l| l.contains("network delay"))
    });
    let pids = buyer_pids(&seen);
    assert_eq!(pids.len(), 3);
    launcher.kill().unwrap(); // SIGKILL: no handler runs in the launcher.
    launcher.wait().unwrap();
    for pid in pids {
        wait_gone(pid);
    }
    // Every buyer is gone, so nothing can change the file any more: no orphan kept buying.
    assert_eq!(env.ticket_num(), 3);
    assert!(serde_json::from_slice::<serde_json::Value>(&env.data_bytes()).is_ok());
}
