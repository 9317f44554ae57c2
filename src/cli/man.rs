//! `grab-tickets man [COMMAND]`: the manual page, rendered by clap_mangen from the same clap
//! types as `--help` (so it says what `--help` says, in English) and never out of date.

use clap::CommandFactory;

use super::args::{Cli, ManPage};

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
    if let Some(examples) = examples {
        roff.extend(unfilled_section("EXAMPLES", &examples).into_bytes());
    }
    roff
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
    }

    #[test]
    fn each_subcommand_page_is_its_own() {
        let page = String::from_utf8(man_page(Some(ManPage::Explore))).unwrap();
        assert!(page.contains(".TH grab-tickets-explore 1"), "{page}");
        assert!(page.contains("\\-\\-interactive"), "{page}");
    }
}
