//! The command line (clap types only, in `args`), turned into a plain [`Settings`] by
//! `resolve` before anything runs, with every flag's range stated once in `bounds`; and the
//! completion scripts and the manual page generated from the very same types, so they never
//! fall out of date.
//! The hidden buyer command is not here: `race::buyer` parses it without clap.

mod args;
mod bounds;
mod man;
mod refusal;
mod resolve;

use clap::{CommandFactory, FromArgMatches};

use crate::exit::{Error, Result};
use crate::lang::{self, Lang, tr};

pub(crate) use args::{Cli, Command};
pub(crate) use man::man_page;

/// Parses the command line. Help and version are printed here (`Ok(None)`); every mistake
/// becomes one [`Error`] in the program's one error style, with clap's tip as the hint.
pub(crate) fn parse() -> Result<Option<Cli>> {
    let parsed = in_language(Cli::command())
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches));
    match parsed {
        Ok(cli) => Ok(Some(cli)),
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            Ok(None)
        }
        Err(e) => Err(Error::usage(
            refusal::in_language(&e)
                .filter(|_| lang::current() != Lang::En)
                .unwrap_or_else(|| one_line(&e.render().to_string())),
        )),
    }
}

/// The command line's help in the chosen language. English is the doc comments of `args`;
/// Chinese comes from the catalog, one `help-COMMAND-ARG` message per argument, with the
/// section headings in a template of its own (clap's "Usage:" and "Options:" are fixed words
/// otherwise). Clap's own error messages are rebuilt in the language by `refusal`.
fn in_language(command: clap::Command) -> clap::Command {
    if lang::current() == Lang::En {
        return command;
    }
    let mut command = command
        .disable_help_flag(true)
        .disable_version_flag(true)
        .arg(help_flag("help-race-help"))
        .arg(
            clap::Arg::new("version")
                .short('V')
                .long("version")
                .action(clap::ArgAction::Version)
                .help(tr!("help-race-version")),
        )
        .about(tr!("help-about"))
        .long_about(tr!("help-long-about"))
        .after_help(tr!("help-examples"))
        .after_long_help(tr!("help-examples"))
        .help_template(tr!("help-template"))
        .mut_args(translate("race"));
    for (name, template) in [
        ("explore", "help-template-explore"),
        ("doctor", "help-template-explore"),
        ("completions", "help-template-completions"),
        ("man", "help-template-completions"),
    ] {
        command = command.mut_subcommand(name, |sub| {
            sub.disable_help_flag(true)
                .arg(help_flag(&format!("help-{name}-help")))
                .about(tr!(&format!("help-{name}-about")))
                .long_about(tr!(&format!("help-{name}-about")))
                .help_template(tr!(template))
                .mut_args(translate(name))
        });
    }
    // The help subcommand exists once clap has built the command; its words are clap's.
    command.build();
    command.mut_subcommand("help", |help| {
        help.about(tr!("help-help-about"))
            .help_template(tr!("help-template-help"))
            .mut_subcommand("help", |again| again.about(tr!("help-help-about")))
    })
}

/// Clap adds -h itself, in English, after [`in_language`] runs: ours says it in the language.
fn help_flag(key: &str) -> clap::Arg {
    clap::Arg::new("help")
        .short('h')
        .long("help")
        .action(clap::ArgAction::Help)
        .help(tr!(key))
}

/// An argument's help from the catalog (`help-COMMAND-ARG`), clap's value notes with it.
fn translate(prefix: &'static str) -> impl FnMut(clap::Arg) -> clap::Arg {
    move |arg: clap::Arg| {
        let key = format!("help-{prefix}-{}", arg.get_id());
        let help = lang::message_or(&key, "");
        if help.is_empty() {
            return arg;
        }
        let help = format!("{help}{}", value_notes(&arg));
        let arg = arg.help(help.clone()).long_help(help);
        if arg.get_action().takes_values() {
            arg.hide_default_value(true).hide_possible_values(true)
        } else {
            arg
        }
    }
}

/// Clap's "[default: 3]" and "[possible values: whole, write, none]" in the language (clap
/// words them itself, so they are hidden and said here): for an option that takes a value.
fn value_notes(arg: &clap::Arg) -> String {
    if !arg.get_action().takes_values() {
        return String::new();
    }
    let mut notes = String::new();
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && !arg.is_hide_default_value_set() {
        notes.push_str(&tr!("help-default", value = defaults.join(" ")));
    }
    let possible: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    if !possible.is_empty() && !arg.is_hide_possible_values_set() {
        notes.push_str(&tr!(
            "help-possible",
            values = possible.join(&tr!("list-separator"))
        ));
    }
    notes
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
        tr!("clap-tip-help")
    } else {
        tips.join("; ")
    };
    format!("{what}; {hint}")
}

/// `grab-tickets completions SHELL`: the completion script for `shell`.
pub(crate) fn completion_script(shell: clap_complete::Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "grab-tickets", &mut script);
    script
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[test]
    fn every_argument_has_its_chinese_help() {
        let mut missing = Vec::new();
        let root = Cli::command();
        let commands = std::iter::once(("race", &root)).chain(
            root.get_subcommands()
                .filter(|c| c.get_name() != "help")
                .map(|c| (c.get_name(), c)),
        );
        for (name, command) in commands {
            for arg in command.get_arguments() {
                let key = format!("help-{name}-{}", arg.get_id());
                if lang::message_in(Lang::Zh, &key, &[]) == key {
                    missing.push(key);
                }
            }
        }
        assert!(missing.is_empty(), "not in zh.ftl: {missing:?}");
    }

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
