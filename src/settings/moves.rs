//! The move grammar of a stepped race: the moves a buyer pauses before, the turns of a
//! schedule, and a schedule's text (`"1s 2s 1r 2r 1w 2w"`). Imports nothing from the crate but
//! `lang`; which moves each lock scope makes is `settings`' business.

use std::fmt;

use serde::{Deserialize, Serialize};

// The one crate module settings speaks through: a leaf, so a refused value reads in the
// class's language.
use crate::lang::tr;

/// A move of the race that a scheduler can interleave: in a stepped run (`explore`,
/// `--schedule`) a buyer pauses before each one and makes it only when told to. Its letter is
/// its name in a schedule string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Move {
    /// `s`: read the count without buying (the search).
    Search,
    /// `l`: ask for the lock (and wait in flock if another buyer holds it).
    Lock,
    /// `r`: read the count the buyer will decide on.
    Read,
    /// `w`: check and commit: append the order to the log, write the temp file, rename it in.
    Write,
    /// `u`: release the lock.
    Unlock,
}

impl Move {
    pub(crate) const ALL: [Move; 5] = [
        Move::Search,
        Move::Lock,
        Move::Read,
        Move::Write,
        Move::Unlock,
    ];

    pub(crate) fn letter(self) -> char {
        match self {
            Move::Search => 's',
            Move::Lock => 'l',
            Move::Read => 'r',
            Move::Write => 'w',
            Move::Unlock => 'u',
        }
    }
}

/// One turn of a schedule: buyer `buyer` makes its next move, `mv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Turn {
    pub buyer: u32,
    pub mv: Move,
}

impl fmt::Display for Turn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.buyer, self.mv.letter())
    }
}

/// `--schedule "1s 2s 1r 2r 1w 2w"`: the order in which buyers make their moves, one turn
/// per word (buyer number, then the move's letter).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Schedule(pub Vec<Turn>);

impl Schedule {
    /// The highest buyer number the schedule names (0 when empty).
    pub(crate) fn buyers(&self) -> u32 {
        self.0.iter().map(|t| t.buyer).max().unwrap_or(0)
    }

    /// Reads a schedule's text, one turn per word (buyer number, then the move's letter);
    /// buyers are numbered 1 to `max_buyer`.
    pub(crate) fn parse(text: &str, max_buyer: u32) -> Result<Schedule, String> {
        let turns = text
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|word| !word.is_empty())
            .map(|word| {
                let bad = |why: String| tr!("schedule-step-invalid", word = word, why = why);
                let split = word
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(word.len());
                let (number, letter) = word.split_at(split);
                let buyer: u32 = match number.parse() {
                    Ok(n) if (1..=max_buyer).contains(&n) => n,
                    Ok(_) => {
                        let range = tr!("schedule-step-buyer-range", max = max_buyer.to_string());
                        return Err(bad(range));
                    }
                    Err(_) => return Err(bad(tr!("schedule-step-no-number"))),
                };
                let mut letters = letter.chars();
                let mv = match (letters.next(), letters.next()) {
                    (Some(c), None) => Move::ALL
                        .into_iter()
                        .find(|m| m.letter() == c.to_ascii_lowercase())
                        .ok_or_else(|| {
                            bad(tr!("schedule-step-not-a-move", letter = c.to_string()))
                        })?,
                    (None, _) => return Err(bad(tr!("schedule-step-no-letter"))),
                    (Some(_), Some(_)) => return Err(bad(tr!("schedule-step-two-letters"))),
                };
                Ok(Turn { buyer, mv })
            })
            .collect::<Result<Vec<Turn>, String>>()?;
        if turns.is_empty() {
            return Err(tr!("schedule-empty"));
        }
        Ok(Schedule(turns))
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, turn) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{turn}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_print_and_parse_by_the_same_letters() {
        let schedule = "1s 2s 1r 2r 1w 2w".parse_as_schedule().unwrap();
        assert_eq!(schedule.to_string(), "1s 2s 1r 2r 1w 2w");
        assert_eq!(schedule.buyers(), 2);
        assert_eq!("1S,2s".parse_as_schedule().unwrap().to_string(), "1s 2s");
        for bad in ["", "s1", "1x", "0s", "1sr", "1"] {
            assert!(bad.parse_as_schedule().is_err(), "{bad}");
        }
    }

    trait ParseAsSchedule {
        fn parse_as_schedule(&self) -> Result<Schedule, String>;
    }

    impl ParseAsSchedule for str {
        fn parse_as_schedule(&self) -> Result<Schedule, String> {
            Schedule::parse(self, 1000)
        }
    }
}
