//! `--check` turns the verdict into the exit status, so scripts and CI can assert correctness.

mod common;
use common::TestEnv;

#[test]
fn check_passes_a_correct_locked_run() {
    let env = TestEnv::new();
    env.run(&["--check", "--buyers", "4", "--delay-ms", "0..2"])
        .assert_code(0);
}

#[test]
fn check_fails_an_oversold_run_with_status_1() {
    let env = TestEnv::new();
    env.run(&[
        "--check",
        "--no-lock",
        "--buyers",
        "5",
        "--tickets",
        "1",
        "--delay-ms",
        "200..250",
    ])
    .assert_code(1)
    .assert_stdout_contains("OVERSOLD");
}

#[test]
fn without_check_an_oversold_run_still_exits_0() {
    let env = TestEnv::new();
    env.run(&[
        "--no-lock",
        "--buyers",
        "3",
        "--tickets",
        "1",
        "--delay-ms",
        "200..250",
        "-q",
    ])
    .assert_code(0)
    .assert_stdout_contains("OVERSOLD");
}

#[test]
fn usage_errors_exit_with_2() {
    let env = TestEnv::new();
    env.run(&["--no-such-flag"]).assert_code(2);
    env.run(&["--buyers", "many"]).assert_code(2);
}
