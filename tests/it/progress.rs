//! The live progress line is for a person at a terminal: a race that lasts more than a second
//! shows it on stderr there, and a run whose output goes to a pipe or a file gets none,
//! however long it takes; nor does a `--json` run, or a race over before the line could help.

use crate::common::{Race, TestEnv};

/// What only the progress line prints.
const PROGRESS: &str = " buyers done, ";

/// Three buyers in turn under the lock, 500 ms each: longer than the one second before the
/// line shows.
fn long_race(env: &TestEnv) -> Race {
    env.race().buyers(3).delay("500..500")
}

#[test]
fn a_long_run_on_a_terminal_shows_the_progress_line_on_stderr() {
    let env = TestEnv::new();
    long_race(&env)
        .run_on_terminal()
        .assert_success()
        .assert_stderr_contains(PROGRESS)
        .assert_stderr_contains(" waiting")
        .assert_stdout_lacks(PROGRESS)
        .assert_stdout_contains("OK: 3 tickets, 3 sold");
}

#[test]
fn a_long_run_whose_output_goes_to_a_pipe_prints_no_progress_line_on_the_terminal() {
    // Only stdout is piped: stderr is still a terminal the line could be drawn on.
    let env = TestEnv::new();
    long_race(&env)
        .run_piped_with_stderr_on_terminal()
        .assert_success()
        .assert_stderr_lacks(PROGRESS)
        .assert_stdout_lacks(PROGRESS)
        .assert_stdout_contains("OK: 3 tickets, 3 sold");
}

#[test]
fn a_long_json_run_on_a_terminal_prints_no_progress_line() {
    let env = TestEnv::new();
    let run = long_race(&env).json().run_on_terminal();
    run.assert_success()
        .assert_stderr_lacks(PROGRESS)
        .assert_stdout_lacks(PROGRESS);
}

#[test]
fn a_short_run_on_a_terminal_prints_no_progress_line() {
    let env = TestEnv::new();
    env.race()
        .buyers(3)
        .delay("0..2")
        .run_on_terminal()
        .assert_success()
        .assert_stderr_lacks(PROGRESS);
}

#[test]
fn the_progress_line_in_chinese_uses_chinese_punctuation_throughout() {
    let env = TestEnv::new();
    long_race(&env)
        .lang("zh")
        .run_on_terminal()
        .assert_success()
        .assert_stderr_contains("个用户已结束，余票")
        .assert_stderr_lacks("个用户已结束,");
}
