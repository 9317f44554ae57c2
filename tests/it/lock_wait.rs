//! Waiting for the lock: a buyer says once whom it waits for, and `--lock-timeout` makes it
//! give up with its own outcome; the launcher itself names an outside holder.

#[cfg(unix)]
use crate::common::exit::ENVIRONMENT;
use crate::common::{Tally, TestEnv};
#[cfg(unix)]
use std::os::fd::AsRawFd;

#[test]
fn buyers_that_cannot_get_the_lock_in_time_give_up_and_are_counted() {
    let env = TestEnv::new();
    let run = env
        .race()
        .buyers(3)
        .tickets(3)
        .delay("500..500")
        .lock_timeout(50)
        .json()
        .run();
    run.assert_success();
    let timed_out = run.count_buyers(|b| b["outcome"] == "lock_timeout");
    run.assert_that(
        timed_out == 2,
        format!("{timed_out} buyers timed out, not 2"),
    )
    .assert_tally(Tally::initial(3).confirmed(1).remaining(2).logged(1))
    .assert_status("ok");
}

#[test]
fn the_text_report_counts_lock_timeouts() {
    let env = TestEnv::new();
    env.race()
        .buyers(2)
        .delay("400..400")
        .lock_timeout(30)
        .succeeds()
        .assert_stdout_contains(
            "gives up waiting for the lock (--lock-timeout), still held by buyer-",
        )
        .assert_stdout_contains("lock timeout               1  buyer-")
        .assert_stdout_contains("OK: 3 tickets, 1 sold, 1 lock timeout");
}

// Unix-only: the test holds the lock with flock(2) and writes its pid beside it.
#[cfg(unix)]
#[test]
fn an_outside_lock_holder_is_named_and_the_launcher_gives_up_in_time() {
    let env = TestEnv::new();
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(env.lock_file())
        .unwrap();
    // SAFETY: flock on a file descriptor we own.
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
    let me = std::process::id();
    std::fs::write(env.lock_file(), format!("{me:<11}\n")).unwrap();
    env.race()
        .lock_timeout(100)
        .run()
        .assert_code(ENVIRONMENT)
        .assert_stderr_contains(&format!(
            "waiting for the lock on {}",
            env.lock_file().display()
        ))
        .assert_stderr_contains(&format!("held by pid {me}"))
        .assert_stderr_contains("timed out after --lock-timeout 100 ms")
        .assert_data_untouched();
}
