//! The friendly parts of the command line: version, completions, and --verbose.

mod common;
use common::exit::USAGE;
use common::{TestEnv, grab_tickets};

#[test]
fn version_prints_the_package_version() {
    grab_tickets()
        .arg("--version")
        .succeeds()
        .assert_stdout_contains(concat!("grab-tickets ", env!("CARGO_PKG_VERSION")));
}

/// How `shell`'s completion script lists the subcommand `name`.
fn listing(shell: &str, name: &str) -> String {
    match shell {
        "bash" => format!("grab__tickets,{name})"),
        "zsh" => format!("'{name}:"),
        "fish" => format!("-a \"{name}\""),
        _ => unreachable!("no listing known for {shell}"),
    }
}

#[test]
fn completions_are_printed_for_each_shell_without_the_internal_subcommand() {
    for shell in ["bash", "zsh", "fish"] {
        // `completions` shows how this shell lists a subcommand; the hidden `buyer` must
        // not be listed that way.
        grab_tickets()
            .args(["completions", shell])
            .succeeds()
            .assert_stdout_contains("no-lock")
            .assert_stdout_contains(&listing(shell, "completions"))
            .assert_stdout_lacks(&listing(shell, "buyer"));
    }
}

#[test]
fn completions_reject_an_unknown_shell() {
    grab_tickets()
        .args(["completions", "cmd.exe"])
        .run()
        .assert_code(USAGE)
        .assert_stderr_contains("invalid value");
}

#[test]
fn a_subcommand_does_not_mix_with_race_flags() {
    grab_tickets()
        .args(["--no-lock", "completions", "bash"])
        .run()
        .assert_code(USAGE);
}

#[test]
fn verbose_names_the_run_files_and_each_buyers_start_and_finish() {
    let env = TestEnv::new();
    let run = env.race().verbose().buyers(2).delay("3..3").succeeds();
    run.assert_stdout_contains("spawned")
        .assert_stdout_contains("hears the starting gun")
        .assert_stdout_contains("(delays 3 ms)")
        .assert_stdout_contains("data.json.lock, order log ")
        .assert_that(
            run.stdout().lines().last().unwrap().starts_with("run "),
            "the last line is not the run id and its files",
        );
}

#[test]
fn verbose_and_quiet_cannot_be_combined() {
    let env = TestEnv::new();
    env.race().verbose().quiet().run().assert_code(USAGE);
}
