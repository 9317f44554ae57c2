//! One crash state recovered by the real program and checked: its files copied into a fresh
//! directory, the next run started on them (the launcher and a buyer that buys what is left),
//! and the ledger it leaves read back against what was confirmed before the cut.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::exit::{Error, Result};
use crate::lang::{self, Lang};
use crate::shop::orders::ENTRY_LEN;
use crate::sys::record::RECORD_ENV;

/// A sale a buyer confirmed before the cut: it must be in the ledger and in the count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub(crate) struct Confirmed {
    pub buyer: u32,
    pub seq: u64,
}

/// What went wrong after recovering one crash state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Problem {
    /// The next run refused the files or failed (its exit status and last line).
    Refused { exit: i32, message: String },
    /// A confirmed sale is not in the ledger after the last restock.
    SaleLost { buyer: u32, seq: u64 },
    /// More orders than the stock.
    Oversold { sold: u64, tickets: u64 },
    /// An entry does not continue from the one before it (seq or count).
    ChainBroken { seq: u64 },
    /// The data file does not say what the ledger's last entry says.
    CountDisagrees { data: u64, ledger: u64 },
    /// The next run bought what was left, yet sold and left do not add up to the stock.
    Unaccounted {
        sold: u64,
        remaining: u64,
        tickets: u64,
    },
}

/// The next run, as started on every crash state.
pub(crate) struct NextRun {
    /// This very program.
    exe: PathBuf,
    /// Where each state is copied (emptied before each).
    dir: PathBuf,
    /// The stock a run sets when nothing was confirmed (the user starts over).
    tickets: u64,
    lang: Lang,
}

impl NextRun {
    pub(crate) fn new(exe: &Path, dir: PathBuf, tickets: u64) -> NextRun {
        NextRun {
            exe: exe.to_path_buf(),
            dir,
            tickets,
            lang: lang::current(),
        }
    }

    /// Copies `files` into a fresh directory, runs the program there and checks the result:
    /// the problems found, none when the state recovered.
    pub(crate) fn check(
        &self,
        files: &[(String, Vec<u8>)],
        confirmed: &[Confirmed],
    ) -> Result<Vec<Problem>> {
        let _ = std::fs::remove_dir_all(&self.dir);
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| Error::io("create directory", &self.dir, &e))?;
        for (name, bytes) in files {
            let path = self.dir.join(name);
            std::fs::write(&path, bytes).map_err(|e| Error::io("write", &path, &e))?;
        }
        let data = self.dir.join("data.json");
        let mut next = Command::new(&self.exe);
        next.arg("--data").arg(&data);
        next.args(["--buyers", "1", "--per-buyer", "all", "--delay-ms", "0..0"]);
        let lang = match self.lang {
            Lang::En => "en",
            Lang::Zh => "zh",
        };
        next.args(["--quiet", "--check", "--lang", lang]);
        // Nothing was confirmed: the user may as well start over, as a normal run does.
        if confirmed.is_empty() {
            next.args(["--tickets", &self.tickets.to_string()]);
        } else {
            next.arg("--keep-stock");
        }
        next.env_remove(RECORD_ENV);
        let output = next
            .output()
            .map_err(|e| Error::io("run the next run", &self.exe, &e))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let message = stderr.lines().last().unwrap_or_default().to_string();
            let exit = output.status.code().unwrap_or(-1);
            return Ok(vec![Problem::Refused { exit, message }]);
        }
        Ok(check_books(&self.dir, confirmed))
    }
}

/// An order-log line, as much of it as the checks need.
#[derive(Deserialize)]
struct Line {
    seq: u64,
    kind: String,
    buyer: u32,
    before: u64,
    after: u64,
}

/// The ledger and data file a recovered run left, against what was confirmed.
fn check_books(dir: &Path, confirmed: &[Confirmed]) -> Vec<Problem> {
    let log = std::fs::read(dir.join("data.json.orders")).unwrap_or_default();
    let lines: Vec<Option<Line>> = log
        .chunks(ENTRY_LEN)
        .map(|chunk| serde_json::from_slice(chunk).ok())
        .collect();
    let Some(restock) = lines
        .iter()
        .rposition(|l| l.as_ref().is_some_and(|l| l.kind == "restock"))
    else {
        return vec![Problem::ChainBroken { seq: 0 }];
    };
    let mut problems = Vec::new();
    let segment = &lines[restock..];
    let mut previous: Option<&Line> = None;
    for line in segment {
        let Some(line) = line else {
            // A hole or a torn line inside the run's stretch of the ledger.
            let seq = previous.map_or(0, |p| p.seq + 1);
            problems.push(Problem::ChainBroken { seq });
            continue;
        };
        if let Some(p) = previous
            && (line.seq != p.seq + 1 || line.before != p.after)
        {
            problems.push(Problem::ChainBroken { seq: line.seq });
        }
        previous = Some(line);
    }
    let entries: Vec<&Line> = segment.iter().flatten().collect();
    for sale in confirmed {
        let found = entries
            .iter()
            .any(|l| l.kind == "order" && l.seq == sale.seq && l.buyer == sale.buyer);
        if !found {
            problems.push(Problem::SaleLost {
                buyer: sale.buyer,
                seq: sale.seq,
            });
        }
    }
    let tickets = entries[0].after;
    let count = |kind: &str| entries.iter().filter(|l| l.kind == kind).count() as u64;
    let sold = count("order").saturating_sub(count("void"));
    if sold > tickets {
        problems.push(Problem::Oversold { sold, tickets });
    }
    let last = entries.last().expect("the restock is there");
    let data: serde_json::Value = std::fs::read(dir.join("data.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    let remaining = data["ticket_num"].as_u64().unwrap_or(u64::MAX);
    if remaining != last.after || data["seq"].as_u64() != Some(last.seq) {
        problems.push(Problem::CountDisagrees {
            data: remaining,
            ledger: last.after,
        });
    } else if sold + remaining != tickets {
        problems.push(Problem::Unaccounted {
            sold,
            remaining,
            tickets,
        });
    }
    problems
}
