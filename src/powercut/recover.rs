//! One crash state recovered by the real program and checked: its files copied into a fresh
//! directory, the next run started on them (the launcher and a buyer that buys what is left),
//! and the ledger it leaves read back against what was confirmed before the cut.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use super::trace::File;
use crate::exit::{Error, Result};
use crate::lang::{self, Lang};
use crate::race::interrupt;
use crate::shop::orders::ENTRY_LEN;
use crate::sys::record::RECORD_ENV;

/// A sale a buyer confirmed before the cut: it must be in the ledger and in the count. Found
/// by its seq and the buyer's pid, since the next run's buyer-1 sells seqs of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub(crate) struct Confirmed {
    pub buyer: u32,
    pub seq: u64,
    pub pid: u32,
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
    /// The ledger holds no restock, so nothing records the stock its orders were sold from.
    NoRestock,
    /// The data file does not say what the ledger's last entry says.
    CountDisagrees { data: u64, ledger: u64 },
    /// The next run bought what was left, yet sold and left do not add up to the stock.
    Unaccounted {
        sold: u64,
        remaining: u64,
        tickets: u64,
    },
}

/// Next runs at once: the recoveries are independent processes, and each spends most of its
/// time starting up and waiting on its files, so two keep two cores busy.
pub(crate) const WORKERS: usize = 2;

/// A crash state to recover: the files on its disk and the sales confirmed before the cut.
pub(crate) type State = (Vec<File>, Vec<Confirmed>);

/// Recovers every state with [`WORKERS`] next runs at once, each in its own directory under
/// `work`; the problems of each state in order, or None if interrupted.
pub(crate) fn recover_all(
    exe: &Path,
    work: &Path,
    tickets: u64,
    states: &[State],
) -> Result<Option<Vec<Vec<Problem>>>> {
    let taken = AtomicUsize::new(0);
    let verdicts: Mutex<Vec<Option<Vec<Problem>>>> = Mutex::new(vec![None; states.len()]);
    // Made here: the language is the calling thread's.
    let runs: Vec<NextRun> = (0..WORKERS)
        .map(|w| NextRun::new(exe, work.join(format!("state-{w}")), tickets))
        .collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = runs
            .iter()
            .map(|next| {
                scope.spawn(|| -> Result<()> {
                    loop {
                        let i = taken.fetch_add(1, Ordering::SeqCst);
                        if i >= states.len() || interrupt::interrupted() {
                            return Ok(());
                        }
                        let problems = next.check(&states[i].0, &states[i].1)?;
                        verdicts.lock().expect("no worker panics holding it")[i] = Some(problems);
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().expect("a recovery worker panicked"))
    })?;
    let verdicts = verdicts.into_inner().expect("no worker panicked");
    Ok(verdicts.into_iter().collect())
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
            // What the refused files still hold of the confirmed sales, for the story.
            let log = files
                .iter()
                .find(|(name, _)| name == LOG)
                .map(|(_, b)| &b[..]);
            let entries = decode(log.unwrap_or_default());
            let mut problems = vec![Problem::Refused { exit, message }];
            problems.extend(lost_sales(entries.iter().flatten(), confirmed));
            return Ok(problems);
        }
        Ok(check_books(&self.dir, confirmed))
    }
}

/// The order log's name in a state's directory.
const LOG: &str = "data.json.orders";

/// The sales a run confirmed in a ledger `log` holds (an order no void takes back): what was
/// on disk before a recorded race, confirmed then.
pub(crate) fn confirmed_in(log: &[u8]) -> Vec<Confirmed> {
    let entries: Vec<Line> = decode(log).into_iter().flatten().collect();
    let voided = |line: &Line| {
        entries
            .iter()
            .any(|v| v.kind == "void" && v.seq == line.seq + 1 && v.pid == line.pid)
    };
    entries
        .iter()
        .filter(|line| line.kind == "order" && !voided(line))
        .map(|line| Confirmed {
            buyer: line.buyer,
            seq: line.seq,
            pid: line.pid,
        })
        .collect()
}

/// Each entry of a log, or None where a line does not decode (torn, zeros).
fn decode(log: &[u8]) -> Vec<Option<Line>> {
    log.chunks(ENTRY_LEN)
        .map(|chunk| serde_json::from_slice(chunk).ok())
        .collect()
}

/// The confirmed sales none of `entries` holds as an order.
fn lost_sales<'a>(
    entries: impl Iterator<Item = &'a Line> + Clone,
    confirmed: &[Confirmed],
) -> Vec<Problem> {
    confirmed
        .iter()
        .filter(|sale| {
            !entries
                .clone()
                .any(|l| l.kind == "order" && l.seq == sale.seq && l.pid == sale.pid)
        })
        .map(|sale| Problem::SaleLost {
            buyer: sale.buyer,
            seq: sale.seq,
        })
        .collect()
}

/// An order-log line, as much of it as the checks need.
#[derive(Deserialize)]
struct Line {
    seq: u64,
    kind: String,
    buyer: u32,
    pid: u32,
    before: u64,
    after: u64,
}

/// The ledger and data file a recovered run left, against what was confirmed.
fn check_books(dir: &Path, confirmed: &[Confirmed]) -> Vec<Problem> {
    let log = std::fs::read(dir.join(LOG)).unwrap_or_default();
    let lines = decode(&log);
    let Some(restock) = lines
        .iter()
        .rposition(|l| l.as_ref().is_some_and(|l| l.kind == "restock"))
    else {
        let mut problems = vec![Problem::NoRestock];
        problems.extend(lost_sales(lines.iter().flatten(), confirmed));
        return problems;
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
    problems.extend(lost_sales(entries.iter().copied(), confirmed));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// One log line as the shop writes it: JSON padded with spaces to ENTRY_LEN.
    fn entry(seq: u64, kind: &str, before: u64, after: u64) -> Vec<u8> {
        let json = serde_json::json!({
            "seq": seq, "kind": kind, "buyer": 1, "pid": 42, "before": before, "after": after
        });
        let mut line = serde_json::to_vec(&json).unwrap();
        line.resize(ENTRY_LEN - 1, b' ');
        line.push(b'\n');
        line
    }

    #[test]
    fn a_ledger_without_a_restock_is_said_to_have_none_not_a_broken_chain() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOG), entry(2, "order", 1, 0)).unwrap();
        std::fs::write(dir.path().join("data.json"), r#"{"ticket_num":0,"seq":2}"#).unwrap();
        let sold = Confirmed {
            buyer: 1,
            seq: 2,
            pid: 42,
        };
        assert_eq!(check_books(dir.path(), &[sold]), [Problem::NoRestock]);
    }

    #[test]
    fn a_whole_chain_from_its_restock_has_no_problem() {
        let dir = tempfile::tempdir().unwrap();
        let log = [entry(1, "restock", 0, 1), entry(2, "order", 1, 0)].concat();
        std::fs::write(dir.path().join(LOG), log).unwrap();
        std::fs::write(dir.path().join("data.json"), r#"{"ticket_num":0,"seq":2}"#).unwrap();
        let sold = Confirmed {
            buyer: 1,
            seq: 2,
            pid: 42,
        };
        assert_eq!(check_books(dir.path(), &[sold]), []);
    }
}
