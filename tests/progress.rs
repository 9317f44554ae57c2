//! The live progress line is for a person at a terminal: a run whose output goes to a pipe
//! or a file gets none, however long it takes.

mod common;
use common::TestEnv;

#[test]
fn a_long_run_into_a_pipe_prints_no_progress_line() {
    let env = TestEnv::new();
    // Two buyers in turn under the lock: longer than the one second before the line shows.
    let run = env.run(&["--buyers", "2", "--delay-ms", "600..600"]);
    run.assert_code(0);
    assert_eq!(run.stderr(), "", "{}", run.context());
    assert!(!run.stdout().contains("buyers done"), "{}", run.context());
}
