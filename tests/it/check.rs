//! `--check` turns the verdict into the exit status, so scripts and CI can assert correctness.

use crate::common::exit::{CHECK_FAILED, USAGE};
use crate::common::{Race, TestEnv};

/// Five buyers, one ticket, no lock, and a schedule in which all of them read before anyone
/// writes: an oversold run, whatever the machine's load.
fn oversold(env: &TestEnv) -> Race {
    env.race()
        .no_lock()
        .buyers(5)
        .tickets(1)
        .schedule("1s 2s 3s 4s 5s 1r 2r 3r 4r 5r 1w 2w 3w 4w 5w")
}

#[test]
fn check_passes_a_correct_locked_run() {
    let env = TestEnv::new();
    env.race().check().buyers(4).delay("0..2").succeeds();
}

#[test]
fn check_fails_an_oversold_run_with_status_1() {
    let env = TestEnv::new();
    oversold(&env)
        .check()
        .run()
        .assert_code(CHECK_FAILED)
        .assert_stdout_contains("OVERSOLD");
}

#[test]
fn without_check_an_oversold_run_still_exits_0() {
    let env = TestEnv::new();
    oversold(&env)
        .quiet()
        .succeeds()
        .assert_stdout_contains("OVERSOLD");
}

#[test]
fn usage_errors_exit_with_2() {
    let env = TestEnv::new();
    env.race().arg("--no-such-flag").run().assert_code(USAGE);
    env.race()
        .args(["--buyers", "many"])
        .run()
        .assert_code(USAGE);
}
