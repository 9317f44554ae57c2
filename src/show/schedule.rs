//! The words of a stepped race: the schedule it took, who got which ticket, a schedule that
//! did not fit, and the command line that replays a schedule.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::story::Story;
use super::words::{and_list, buyer};
use crate::lang::tr;
use crate::race::stepper::Misfit;
use crate::report::Sale;
use crate::settings::{LockScope, Schedule, Settings};
use crate::shell_word::Shell;

/// The data file a run uses when `--data` is not given (cli.rs's default).
const DEFAULT_DATA: &str = "data/data.json";

/// A `--schedule` run: what was asked and what was taken.
pub(crate) struct Replayed<'a> {
    pub given: &'a Schedule,
    pub taken: &'a Schedule,
    /// How many turns of `given` were taken as written.
    pub followed: usize,
    pub misfit: Option<&'a Misfit>,
    /// The race stopped before every buyer finished (an interrupt).
    pub stopped: bool,
}

/// The lines after a `--schedule` run's report.
pub(crate) fn lines(settings: &Settings, story: &Story, replayed: &Replayed) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        tr!("schedule-taken", schedule = replayed.taken.to_string())
    );
    match replayed.misfit {
        Some(misfit) => {
            let _ = writeln!(
                out,
                "{}",
                tr!("schedule-misfit-then", error = misfit_error(misfit))
            );
        }
        None if replayed.taken.0.len() > replayed.followed => {
            let _ = writeln!(out, "{}", tr!("schedule-partly", n = replayed.followed));
        }
        None => {}
    }
    let tickets = tickets_line(&story.tickets, settings.buyers());
    let _ = writeln!(out, "{}", tr!("tickets-line", tickets = tickets));
    out
}

/// The error for a schedule that did not fit the race.
pub(crate) fn misfit_error(misfit: &Misfit) -> String {
    tr!(
        "schedule-misfit",
        step = misfit.step,
        turn = misfit.turn.to_string(),
        why = misfit.why.as_str()
    )
}

/// "ticket 1 to buyer-1 and buyer-2 (sold twice); buyer-3 got none".
pub(crate) fn tickets_line(sales: &[Sale], buyers: u32) -> String {
    let mut parts: Vec<String> = sales
        .iter()
        .map(|sale| {
            let names: Vec<String> = sale.buyers.iter().map(|b| buyer(*b)).collect();
            tr!(
                "ticket-to",
                ticket = sale.ticket,
                buyers = and_list(&names),
                times = sale.buyers.len()
            )
        })
        .collect();
    let without: Vec<String> = (1..=buyers)
        .filter(|b| !sales.iter().any(|s| s.buyers.contains(b)))
        .map(buyer)
        .collect();
    if !without.is_empty() {
        parts.push(tr!("tickets-none-for", buyers = and_list(&without)));
    }
    if parts.is_empty() {
        tr!("tickets-none-sold")
    } else {
        parts.join(&tr!("list-groups"))
    }
}

/// The command that replays `schedule`: every flag that shapes the race, and nothing else.
pub(crate) fn replay_command(
    data: &Path,
    buyers: u32,
    tickets: u64,
    scope: LockScope,
    schedule: &Schedule,
) -> String {
    let mut command = "grab-tickets".to_string();
    if data != Path::new(DEFAULT_DATA) {
        let _ = write!(
            command,
            " --data {}",
            Shell::HERE.word(&data.display().to_string())
        );
    }
    let _ = write!(command, " --buyers {buyers} --tickets {tickets}");
    match scope {
        LockScope::None => command.push_str(" --no-lock"),
        LockScope::Write => command.push_str(" --lock-scope write"),
        LockScope::Whole => {}
    }
    let _ = write!(command, " --schedule \"{schedule}\"");
    command
}

/// The `schedule` object of a `--schedule` run's JSON document.
#[derive(Serialize)]
pub(crate) struct JsonSchedule {
    pub given: String,
    pub taken: String,
    pub followed: usize,
    pub misfit: Option<JsonMisfit>,
    pub stopped: bool,
    pub tickets: Vec<Sale>,
}

#[derive(Serialize)]
pub(crate) struct JsonMisfit {
    pub step: usize,
    pub turn: String,
    pub why: String,
}

impl JsonSchedule {
    pub(crate) fn of(replayed: &Replayed, story: &Story) -> JsonSchedule {
        JsonSchedule {
            given: replayed.given.to_string(),
            taken: replayed.taken.to_string(),
            followed: replayed.followed,
            misfit: replayed.misfit.map(|m| JsonMisfit {
                step: m.step,
                turn: m.turn.to_string(),
                why: m.why.clone(),
            }),
            stopped: replayed.stopped,
            tickets: story.tickets.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tickets_line_names_double_sales_and_buyers_without_one() {
        let sales = [Sale {
            ticket: 1,
            buyers: vec![1, 2],
        }];
        assert_eq!(
            tickets_line(&sales, 3),
            "ticket 1 to buyer-1 and buyer-2 (sold twice); buyer-3 got none"
        );
        assert_eq!(tickets_line(&[], 0), "none sold");
    }

    #[test]
    fn the_replay_command_names_only_what_shapes_the_race() {
        let schedule: Schedule = "1s 2s".parse().unwrap();
        assert_eq!(
            replay_command(Path::new(DEFAULT_DATA), 2, 1, LockScope::None, &schedule),
            "grab-tickets --buyers 2 --tickets 1 --no-lock --schedule \"1s 2s\""
        );
        assert_eq!(
            replay_command(Path::new("x.json"), 3, 2, LockScope::Whole, &schedule),
            "grab-tickets --data x.json --buyers 3 --tickets 2 --schedule \"1s 2s\""
        );
    }
}
