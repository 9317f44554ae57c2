//! `grab-tickets completions SHELL`: prints the completion script clap_complete generates
//! from the very same clap types the program parses with, so it never falls out of date.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

pub fn print(shell: Shell) {
    clap_complete::generate(
        shell,
        &mut public_command(),
        "grab-tickets",
        &mut std::io::stdout(),
    );
}

/// The command line without its hidden subcommands: clap_complete would offer the internal
/// `buyer` subcommand otherwise, and clap has no way to drop a subcommand, so the command is
/// rebuilt from its flags and its visible subcommands.
fn public_command() -> clap::Command {
    let full = Cli::command();
    let visible = full
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set())
        .cloned();
    clap::Command::new("grab-tickets")
        .about(full.get_about().cloned().unwrap_or_default())
        .version(env!("CARGO_PKG_VERSION"))
        .args(full.get_arguments().cloned())
        .subcommands(visible)
        .args_conflicts_with_subcommands(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_offer_the_flags_but_not_the_internal_buyer_subcommand() {
        let mut script = Vec::new();
        clap_complete::generate(
            Shell::Bash,
            &mut public_command(),
            "grab-tickets",
            &mut script,
        );
        let script = String::from_utf8(script).unwrap();
        assert!(script.contains("--no-lock") && script.contains("--trace"));
        assert!(script.contains("completions"));
        assert!(!script.contains("subcmd__buyer"), "{script}");
        public_command().debug_assert();
    }
}
