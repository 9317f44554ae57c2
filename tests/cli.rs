//! The friendly parts of the command line: version, completions, and --verbose.

mod common;
use common::{BIN, Run, TestEnv};
use std::process::Command;

fn run_bare(args: &[&str]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    Run::of(cmd)
}

#[test]
fn version_prints_the_package_version() {
    run_bare(&["--version"])
        .assert_code(0)
        .assert_stdout_contains(concat!("grab-tickets ", env!("CARGO_PKG_VERSION")));
}

#[test]
fn completions_are_printed_for_each_shell_without_the_internal_subcommand() {
    for shell in ["bash", "zsh", "fish"] {
        let run = run_bare(&["completions", shell]);
        run.assert_code(0).assert_stdout_contains("no-lock");
        assert!(!run.stdout().contains("Internal"), "{}", run.context());
    }
}

#[test]
fn completions_reject_an_unknown_shell() {
    run_bare(&["completions", "cmd.exe"])
        .assert_code(2)
        .assert_stderr_contains("invalid value");
}

#[test]
fn a_subcommand_does_not_mix_with_race_flags() {
    run_bare(&["--no-lock", "completions", "bash"]).assert_code(2);
}

#[test]
fn verbose_names_the_run_files_and_each_buyers_start_and_finish() {
    let env = TestEnv::new();
    let run = env.run(&["--verbose", "--buyers", "2", "--delay-ms", "3..3"]);
    run.assert_code(0)
        .assert_stdout_contains("spawned")
        .assert_stdout_contains("hears the starting gun")
        .assert_stdout_contains("(delays 3 ms)")
        .assert_stdout_contains("data.json.lock, order log ");
    assert!(
        run.stdout().lines().last().unwrap().starts_with("run "),
        "{}",
        run.context()
    );
}

#[test]
fn verbose_and_quiet_cannot_be_combined() {
    let env = TestEnv::new();
    env.run(&["--verbose", "--quiet"]).assert_code(2);
}
