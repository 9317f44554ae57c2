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

/// The shell a person pastes the replay command into: a POSIX shell on Unix; on Windows
/// PowerShell or cmd.exe, which share no quoting with it (cmd.exe has no single quotes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shell {
    #[cfg_attr(
        all(windows, not(test)),
        expect(dead_code, reason = "Windows prints Windows words")
    )]
    Posix,
    /// Words both PowerShell and cmd.exe read alike where that is possible.
    #[cfg_attr(
        all(unix, not(test)),
        expect(dead_code, reason = "Unix prints POSIX words")
    )]
    Windows,
}

/// The characters PowerShell takes for a single quote: the ASCII one and the typographic ones.
const POWERSHELL_SINGLE_QUOTES: [char; 5] = ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];

impl Shell {
    #[cfg(unix)]
    const HERE: Shell = Shell::Posix;
    #[cfg(windows)]
    const HERE: Shell = Shell::Windows;

    /// `word` as one word of this shell: as it is when that is safe, else quoted.
    fn word(self, word: &str) -> String {
        match self {
            Shell::Posix => {
                let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:@%=,".contains(c);
                if !word.is_empty() && word.chars().all(plain) {
                    word.to_string()
                } else if word.chars().any(char::is_control) {
                    // Inside plain quotes a newline or an escape would reach the terminal
                    // raw and could draw a line of the name's choosing; bash's and zsh's
                    // $'...' spells them out and still pastes as the same name.
                    ansi_c_quoted(word)
                } else {
                    format!("'{}'", word.replace('\'', "'\\''"))
                }
            }
            Shell::Windows => {
                let plain = |c: char| c.is_ascii_alphanumeric() || "\\/._-:".contains(c);
                if !word.is_empty() && word.chars().all(plain) {
                    word.to_string()
                } else if word.contains(['%', '$', '`', '\u{201C}', '\u{201D}', '\u{201E}']) {
                    // Double quotes expand %VAR% in cmd.exe and $var in PowerShell, and
                    // PowerShell ends a double-quoted word at a typographic double quote too
                    // (which a Chinese input method types, and a Windows name may hold): only
                    // PowerShell's single quotes keep such a name as it is. It reads the
                    // typographic single quotes as quotes as well, so each is doubled.
                    let mut quoted = String::from("'");
                    for c in word.chars() {
                        quoted.push(c);
                        if POWERSHELL_SINGLE_QUOTES.contains(&c) {
                            quoted.push(c);
                        }
                    }
                    quoted.push('\'');
                    quoted
                } else {
                    format!("\"{word}\"")
                }
            }
        }
    }
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

/// `word` in bash's and zsh's `$'...'` quotes, its control characters spelled out.
fn ansi_c_quoted(word: &str) -> String {
    let mut quoted = String::from("$'");
    for c in word.chars() {
        match c {
            '\\' | '\'' => quoted.extend(['\\', c]),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            c if u32::from(c) < 0x80 && c.is_control() => {
                let _ = write!(quoted, "\\x{:02x}", u32::from(c));
            }
            c if c.is_control() => {
                let _ = write!(quoted, "\\u{:04x}", u32::from(c));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('\'');
    quoted
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
        assert_eq!(
            Shell::Posix.word("my dir/it's.json"),
            "'my dir/it'\\''s.json'"
        );
        // A newline or an escape is spelled out: the command stays one line on the screen.
        assert_eq!(
            Shell::Posix.word("x\nOK: 3\u{1b}[2K'\\.json"),
            "$'x\\nOK: 3\\x1b[2K\\'\\\\.json'"
        );
    }

    #[test]
    fn a_windows_replay_command_quotes_for_powershell_and_cmd() {
        let plain = r"C:\Users\li\data.json";
        assert_eq!(Shell::Windows.word(plain), plain);
        assert_eq!(
            Shell::Windows.word(r"C:\Users\Li Wei\it's.json"),
            r#""C:\Users\Li Wei\it's.json""#
        );
        assert_eq!(
            Shell::Windows.word(r"C:\100%\$x's.json"),
            r"'C:\100%\$x''s.json'"
        );
    }

    #[test]
    fn a_windows_name_with_typographic_quotes_stays_one_powershell_word() {
        // A double-quoted word would end at “ in PowerShell: single quotes, with each kind of
        // single quote PowerShell knows doubled.
        assert_eq!(
            Shell::Windows.word("C:\\作业\\“抢票”.json"),
            "'C:\\作业\\“抢票”.json'"
        );
        assert_eq!(
            Shell::Windows.word("C:\\“Li’s” data.json"),
            "'C:\\“Li’’s” data.json'"
        );
        // A typographic single quote alone is safe inside double quotes.
        assert_eq!(
            Shell::Windows.word("C:\\Li’s data.json"),
            "\"C:\\Li’s data.json\""
        );
    }
}
