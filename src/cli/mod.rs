//! The command line (clap types only, in `args`), turned into a plain [`Settings`] by
//! `resolve` before anything runs, with every flag's range stated once in `bounds`; and the
//! completion scripts generated from the very same types, so they never fall out of date.
//! The hidden buyer command is not here: `race::buyer` parses it without clap.

mod args;
mod bounds;
mod resolve;

use clap::{CommandFactory, Parser};

use crate::exit::{Error, Result};

pub use args::{Cli, Command};

/// Parses the command line. Help and version are printed here (`Ok(None)`); every mistake
/// becomes one [`Error`] in the program's one error style, with clap's tip as the hint.
pub fn parse() -> Result<Option<Cli>> {
    match Cli::try_parse() {
        Ok(cli) => Ok(Some(cli)),
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            Ok(None)
        }
        Err(e) => Err(Error::usage(one_line(&e.render().to_string()))),
    }
}

/// Clap's multi-line message ("error: ...", maybe a list of arguments, a blank, "  tip: ...",
/// usage) as "what; hint".
fn one_line(rendered: &str) -> String {
    let mut lines = rendered.lines().map(str::trim);
    let mut what = lines
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_string();
    // "the following required arguments were not provided:" lists them on the lines below.
    for listed in lines.by_ref().take_while(|l| !l.is_empty()) {
        what.push(' ');
        what.push_str(listed);
    }
    let tips: Vec<&str> = lines.filter_map(|l| l.strip_prefix("tip: ")).collect();
    let hint = if tips.is_empty() {
        "see 'grab-tickets --help'".to_string()
    } else {
        tips.join("; ")
    };
    format!("{what}; {hint}")
}

/// `grab-tickets completions SHELL`: the completion script for `shell`.
pub fn completion_script(shell: clap_complete::Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "grab-tickets", &mut script);
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_argument_is_named_on_the_one_line() {
        let err = Cli::try_parse_from(["grab-tickets", "--atomic"]).unwrap_err();
        let line = one_line(&err.render().to_string());
        assert!(
            line.starts_with("the following required arguments were not provided: --store"),
            "{line}"
        );
    }

    #[test]
    fn clap_errors_become_one_line_with_a_hint() {
        let err = Cli::try_parse_from(["grab-tickets", "--buyer", "3"]).unwrap_err();
        let line = one_line(&err.render().to_string());
        assert_eq!(
            line,
            "unexpected argument '--buyer' found; a similar argument exists: '--buyers'"
        );
        let err = Cli::try_parse_from(["grab-tickets", "--tickets", "-1"]).unwrap_err();
        assert_eq!(
            one_line(&err.render().to_string()),
            "invalid value '-1' for '--tickets <T>': it cannot be negative; use a whole number \
             from 0 to 1000000000; see 'grab-tickets --help'"
        );
    }

    #[test]
    fn the_kill_at_help_lists_every_step_in_order() {
        let help = Cli::command().render_long_help().to_string();
        let steps: Vec<&str> = crate::settings::Step::ALL
            .iter()
            .map(|s| s.name())
            .collect();
        assert!(help.contains(&steps.join(", ")), "{help}");
    }

    #[test]
    fn the_command_line_is_consistent_and_completes_every_flag() {
        Cli::command().debug_assert();
        let mut script = Vec::new();
        clap_complete::generate(
            clap_complete::Shell::Bash,
            &mut Cli::command(),
            "grab-tickets",
            &mut script,
        );
        let script = String::from_utf8(script).unwrap();
        assert!(script.contains("--no-lock") && script.contains("--trace"));
        assert!(script.contains("--html") && script.contains("--kill-at"));
        assert!(script.contains("completions"));
        assert!(!script.contains("subcmd__buyer"), "{script}");
    }
}
