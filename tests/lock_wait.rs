//! Waiting for the lock: a buyer says once whom it waits for, and `--lock-timeout` makes it
//! give up with its own outcome; the launcher itself names an outside holder.

mod common;
use common::{TestEnv, tally};
use std::os::fd::AsRawFd;

#[test]
fn buyers_that_cannot_get_the_lock_in_time_give_up_and_are_counted() {
    let env = TestEnv::new();
    let (run, report) = env.run_json(&[
        "--buyers",
        "3",
        "--tickets",
        "3",
        "--delay-ms",
        "500..500",
        "--lock-timeout",
        "50",
    ]);
    run.assert_code(0);
    let timed_out = report["buyers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["outcome"] == "lock_timeout")
        .count();
    assert_eq!(timed_out, 2, "{}", run.context());
    assert_eq!(tally(&report), (3, 1, 2, 1), "{}", run.context());
    assert_eq!(report["verdict"]["status"], "ok");
}

#[test]
fn the_text_report_counts_lock_timeouts() {
    let env = TestEnv::new();
    env.run(&[
        "--buyers",
        "2",
        "--delay-ms",
        "400..400",
        "--lock-timeout",
        "30",
    ])
    .assert_code(0)
    .assert_stdout_contains("gives up waiting for the lock (--lock-timeout), still held by buyer-")
    .assert_stdout_contains("lock timeout               1  buyer-")
    .assert_stdout_contains("OK: 3 tickets, 1 sold, 1 lock timeout");
}

#[test]
fn an_outside_lock_holder_is_named_and_the_launcher_gives_up_in_time() {
    let env = TestEnv::new();
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(env.path("data.json.lock"))
        .unwrap();
    // SAFETY: flock on a file descriptor we own.
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
    std::fs::write(
        env.path("data.json.lock"),
        format!("{:<11}\n", std::process::id()),
    )
    .unwrap();
    let before = env.data_bytes();
    env.run(&["--lock-timeout", "100"])
        .assert_code(4)
        .assert_stderr_contains(&format!(
            "waiting for the lock on {}",
            env.path("data.json.lock").display()
        ))
        .assert_stderr_contains(&format!("held by pid {}", std::process::id()))
        .assert_stderr_contains("timed out after --lock-timeout 100 ms");
    assert_eq!(env.data_bytes(), before, "nothing changes without the lock");
}
