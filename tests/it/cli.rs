//! The friendly parts of the command line: version, completions, the man pages, --verbose and
//! --quiet, and a --help that shows every flag the completions offer.

use crate::common::exit::USAGE;
use crate::common::{TestEnv, grab_tickets};
use std::collections::BTreeSet;

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

#[test]
fn quiet_prints_only_the_report() {
    let env = TestEnv::new();
    let run = env
        .race()
        .quiet()
        .buyers(3)
        .delay("1..2")
        .seed(9)
        .succeeds();
    let lines: Vec<&str> = run.stdout().lines().filter(|l| !l.is_empty()).collect();
    run.assert_that(
        lines[0].starts_with("Report (race took") && lines[0].ends_with(", seed 9)"),
        "the first line is not the report's heading with the seed",
    )
    .assert_stdout_lacks("race for")
    .assert_stdout_lacks("Timeline")
    .assert_stdout_lacks("search")
    .assert_that(
        lines.last().is_some_and(|l| l.starts_with("OK: 3 tickets")),
        "the verdict is not the last line",
    );
}

/// The long flags a text lists: "--buyers", "--no-lock", ...
fn long_flags(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.starts_with("--") && w.len() > 2 && !w.ends_with('-'))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_flag_the_completions_offer_is_in_the_help() {
    // The completions cover every subcommand; so, together, do the helps.
    let help: String = [
        &["--help"][..],
        &["explore", "--help"],
        &["completions", "--help"],
    ]
    .iter()
    .map(|args| grab_tickets().args(*args).succeeds().stdout().to_string())
    .collect();
    let script = grab_tickets()
        .args(["completions", "bash"])
        .succeeds()
        .stdout()
        .to_string();
    let missing: Vec<String> = long_flags(&script)
        .difference(&long_flags(&help))
        .cloned()
        .collect();
    assert!(
        missing.is_empty(),
        "hidden from --help: {missing:?}\n{help}"
    );
    assert!(
        help.contains("--kill-at") && help.contains("--html"),
        "{help}"
    );
}

#[test]
fn the_help_says_what_the_seed_replays_and_what_it_cannot() {
    grab_tickets()
        .arg("--help")
        .succeeds()
        .assert_stdout_contains("What --seed replays: every buyer's network delays")
        .assert_stdout_contains("which waiting buyer the kernel lets in")
        .assert_stdout_contains("--schedule");
}

/// `grab-tickets man [COMMAND]` and the help it must agree with, page by page.
const MAN_PAGES: [(&[&str], &[&str]); 4] = [
    (&["man"], &["--help"]),
    (&["man", "explore"], &["explore", "--help"]),
    (&["man", "doctor"], &["doctor", "--help"]),
    (&["man", "completions"], &["completions", "--help"]),
];

#[test]
fn each_man_page_names_every_flag_its_help_shows() {
    for (man, help) in MAN_PAGES {
        let help = grab_tickets().args(help).succeeds().stdout().to_string();
        let run = grab_tickets().args(man).succeeds();
        let page = run.stdout();
        run.assert_that(
            page.starts_with(".ie") && page.contains("\n.TH grab-tickets"),
            "not a man page",
        );
        // roff writes each hyphen as \-.
        let missing: Vec<String> = long_flags(&help)
            .into_iter()
            .filter(|flag| !page.contains(&flag.replace('-', "\\-")))
            .collect();
        run.assert_that(missing.is_empty(), format!("not in the page: {missing:?}"));
    }
}

#[test]
fn man_renders_each_page_where_man_is_installed() {
    let man = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join("man"))
        .find(|path| path.is_file());
    let Some(man) = man else {
        eprintln!(
            "*** SKIPPED man_renders_each_page_where_man_is_installed: no man(1) on PATH ***"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    for (args, title, flag) in [
        (&["man"][..], "grab-tickets(1)", "--no-lock"),
        (
            &["man", "explore"],
            "grab-tickets-explore(1)",
            "--interactive",
        ),
    ] {
        let file = dir.path().join("page.1");
        std::fs::write(&file, grab_tickets().args(args).succeeds().stdout()).expect("write page");
        let shown = std::process::Command::new(&man)
            .arg("-l")
            .arg(&file)
            .env("MANWIDTH", "100")
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .env("LANG", "C.UTF-8")
            .output()
            .expect("run man");
        let text = String::from_utf8_lossy(&shown.stdout);
        assert!(
            shown.status.success() && text.contains(title) && text.contains(flag),
            "man -l did not render {title} with {flag}:\n{text}\n{}",
            String::from_utf8_lossy(&shown.stderr)
        );
    }
}
