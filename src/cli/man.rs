//! `grab-tickets man [COMMAND]`: the manual page, rendered by clap_mangen from the same clap
//! types as `--help` (so it says what `--help` says, in English) and never out of date.

use clap::CommandFactory;

use super::args::{Cli, ManPage};
use crate::exit::Exit;

/// The roff source of grab-tickets(1), or of one subcommand's page (grab-tickets-explore(1)).
pub(crate) fn man_page(page: Option<ManPage>) -> Vec<u8> {
    let mut command = Cli::command();
    // Building gives each subcommand its full name (grab-tickets-explore) for its own page.
    command.build();
    let command = match page {
        None => command,
        Some(page) => command
            .find_subcommand(page.name())
            .cloned()
            .expect("every ManPage is a subcommand"),
    };
    // clap_mangen fills the after-help text into paragraphs, which runs the examples' two
    // columns together: they go in a section of their own, line by line, instead.
    let examples = command
        .get_after_long_help()
        .or(command.get_after_help())
        .map(|text| text.to_string());
    let mut roff = Vec::new();
    clap_mangen::Man::new(command.after_help(None).after_long_help(None))
        .render(&mut roff)
        .expect("rendering into memory cannot fail");
    roff.extend(exit_status().into_bytes());
    if let Some(examples) = examples {
        roff.extend(unfilled_section("EXAMPLES", &examples).into_bytes());
    }
    roff
}

/// Every status, as `Exit` owns them: where a reader of a man page looks for them.
const STATUSES: [Exit; 7] = [
    Exit::Success,
    Exit::CheckFailed,
    Exit::Usage,
    Exit::BadData,
    Exit::Environment,
    Exit::BuyerFailed,
    Exit::Interrupted,
];

/// What a status means, in short (docs/exit-codes.md has every case).
fn meaning(exit: Exit) -> &'static str {
    match exit {
        Exit::Success => {
            "The run completed (with --check: every ticket was sold at most once and the counts reconcile); doctor: the directory is safe to race in."
        }
        Exit::CheckFailed => {
            "--check: tickets were oversold, updates were lost, or the counts do not reconcile; doctor: the directory is not safe; explore --power-cut: a crash state recovered wrongly."
        }
        Exit::Usage => {
            "Usage: an unknown flag, a value out of range, or a --schedule or --kill-at that does not fit the race."
        }
        Exit::BadData => {
            "Bad data: the data file or the order log, or the database's stock row, tables or orders, cannot be trusted (missing, not JSON, a bad ticket_num, a broken chain, forged history, no room left for the seq, the stock changed outside the lock)."
        }
        Exit::Environment => {
            "Environment: the filesystem, the OS or the database refused (permissions, no lock support, a lock timeout, an unsafe sidecar file); doctor: the directory cannot be tested."
        }
        Exit::BuyerFailed => {
            "A buyer process failed: it crashed, was killed by something other than --chaos, or broke the report protocol."
        }
        Exit::Interrupted => "Interrupted by Ctrl-C or SIGTERM (a partial report was printed).",
    }
}

fn exit_status() -> String {
    let mut section = roff::Roff::new();
    section.control("SH", ["EXIT STATUS"]);
    for exit in STATUSES {
        section
            .control("TP", [])
            .text([roff::bold(exit.code().to_string())])
            .text([roff::roman(meaning(exit))]);
    }
    section
        .control("PP", [])
        .text([roff::roman("Every case: docs/exit-codes.md.")]);
    section.render()
}

/// A section whose lines are printed as written (`.nf`), for text laid out in columns.
fn unfilled_section(title: &str, text: &str) -> String {
    let mut section = roff::Roff::new();
    section.control("SH", [title]).control("nf", []);
    let body = text.strip_prefix("Examples:\n").unwrap_or(text);
    for line in body.lines() {
        section.text([roff::roman(line)]);
    }
    section.control("fi", []).render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_every_option_of_the_help() {
        let page = String::from_utf8(man_page(None)).unwrap();
        for arg in Cli::command().get_arguments().filter(|a| !a.is_hide_set()) {
            if let Some(long) = arg.get_long() {
                let roff = format!("\\-\\-{}", long.replace('-', "\\-"));
                assert!(page.contains(&roff), "--{long} is not in the page");
            }
        }
        assert!(page.contains(".SH EXAMPLES\n.nf\n"), "{page}");
        for code in ["0", "1", "2", "3", "4", "5", "130"] {
            assert!(
                page.contains(&format!(".TP\n\\fB{code}\\fR\n")),
                "{code}: {page}"
            );
        }
    }

    #[test]
    fn each_subcommand_page_is_its_own() {
        let page = String::from_utf8(man_page(Some(ManPage::Explore))).unwrap();
        assert!(page.contains(".TH grab-tickets-explore 1"), "{page}");
        assert!(page.contains("\\-\\-interactive"), "{page}");
    }
}
