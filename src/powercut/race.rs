//! The races the explorer records, one from each shop a run may start from. One start is not
//! enough: the first run's restock fsyncs the directory for the data file's new name, which
//! also covers every name made before it, so a sync left out there is hidden by the next one.
//! A lesson's hand-written data.json, a shop a run already used, and that shop with its log
//! deleted take other paths.

use std::path::Path;
use std::process::{Command, Stdio};

use serde::Serialize;

use super::recover::{Confirmed, confirmed_in};
use super::trace::{self, File, Record};
use crate::exit::{Error, Result};
use crate::lang::tr;
use crate::settings::{Durability, Exploration};
use crate::sys::record::RECORD_ENV;

/// What the directory holds when the recorded race starts (all of it on disk, synced).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Start {
    /// Nothing: the run creates data.json, its lock file and its log (`--tickets T`).
    Empty,
    /// The lesson's data.json written by hand, `{"ticket_num": T}`, no log yet (`--tickets T`).
    HandWritten,
    /// A shop a run already used: one ticket sold of T+1 (`--keep-stock`, T left).
    UsedShop,
    /// That shop with its order log deleted, to start the ledger over (`--tickets T`): the
    /// one start in which the log is new and the data file is not, so no later directory
    /// fsync (the first swap's) covers the log's new name.
    LogDeleted,
}

impl Start {
    pub(crate) const ALL: [Start; 4] = [
        Start::Empty,
        Start::HandWritten,
        Start::UsedShop,
        Start::LogDeleted,
    ];
}

/// One recorded race: where it started, what it did, and who.
pub(crate) struct Recorded {
    pub start: Start,
    pub record: Record,
    /// The launcher's pid (the buyers are the other pids in the record).
    pub launcher: u32,
    /// Sales confirmed before the race began (by the run that used the shop).
    pub confirmed_before: Vec<Confirmed>,
}

/// Prepares `start` in `work/<start>` and records one race there.
pub(crate) fn record(
    exe: &Path,
    work: &Path,
    start: Start,
    exploration: &Exploration,
) -> Result<Recorded> {
    let name = serde_json::to_value(start).expect("a start serializes");
    let base = work.join(name.as_str().unwrap_or("start"));
    let race = base.join("race");
    std::fs::create_dir_all(&race).map_err(|e| Error::io("create directory", &race, &e))?;
    let data = race.join("data.json");
    let tickets = exploration.tickets;
    let mut command = shop_run(exe, &data, exploration.buyers);
    match start {
        Start::Empty => {
            command.args(["--tickets", &tickets.to_string()]);
        }
        Start::HandWritten => {
            let text = format!("{{\"ticket_num\": {tickets}}}\n");
            std::fs::write(&data, text).map_err(|e| Error::io("write", &data, &e))?;
            command.args(["--tickets", &tickets.to_string()]);
        }
        Start::UsedShop | Start::LogDeleted => {
            let mut earlier = shop_run(exe, &data, 1);
            earlier.args(["--tickets", &(tickets + 1).to_string(), "--per-buyer", "1"]);
            finish(earlier, exe)?;
            if start == Start::UsedShop {
                command.arg("--keep-stock");
            } else {
                let log = race.join("data.json.orders");
                std::fs::remove_file(&log).map_err(|e| Error::io("remove", &log, &e))?;
                command.args(["--tickets", &tickets.to_string()]);
            }
        }
    }
    let initial = files_in(&race)?;
    let confirmed_before = initial
        .iter()
        .find(|(name, _)| name == "data.json.orders")
        .map_or_else(Vec::new, |(_, log)| confirmed_in(log));
    if exploration.durability == Durability::NoFsync {
        command.arg("--no-fsync");
    }
    let record_path = base.join("record.jsonl");
    command.env(RECORD_ENV, &record_path);
    let launcher = finish(command, exe)?;
    Ok(Recorded {
        start,
        record: trace::read(&record_path, initial)?,
        launcher,
        confirmed_before,
    })
}

/// A quiet run of this program on `data` with `buyers` buyers and no delays, unrecorded.
fn shop_run(exe: &Path, data: &Path, buyers: u32) -> Command {
    let mut command = Command::new(exe);
    command.arg("--data").arg(data);
    command.args(["--buyers", &buyers.to_string()]);
    command.args(["--delay-ms", "0..0", "--quiet", "--lang", "en"]);
    command.env_remove(RECORD_ENV);
    command
}

/// Runs `command` (the recorded race, or the run before it that used the shop) to the end;
/// its pid, or an error with what it said.
fn finish(mut command: Command, exe: &Path) -> Result<u32> {
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io("start the recorded race", exe, &e))?;
    let pid = child.id();
    let output = child
        .wait_with_output()
        .map_err(|e| Error::io("wait for the recorded race", exe, &e))?;
    if !output.status.success() {
        return Err(Error::buyer(tr!(
            "error-recorded-race-failed",
            stderr = String::from_utf8_lossy(&output.stderr).trim_end()
        )));
    }
    Ok(pid)
}

/// Every file in `dir` with its bytes, in name order: the disk before the race. Synced first,
/// so the files really are on disk as the models assume.
fn files_in(dir: &Path) -> Result<Vec<File>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("read directory", dir, &e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("read directory", dir, &e))?;
        let path = entry.path();
        let bytes = std::fs::read(&path).map_err(|e| Error::io("read", &path, &e))?;
        if let Ok(file) = std::fs::File::open(&path) {
            let _ = file.sync_all();
        }
        files.push((entry.file_name().to_string_lossy().into_owned(), bytes));
    }
    files.sort();
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(files)
}
