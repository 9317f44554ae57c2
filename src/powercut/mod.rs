//! `grab-tickets explore --power-cut`: one real race recorded (`shop::record`), every crash
//! state a persistence model allows built from the record (`states`, on `disk` images of the
//! `trace`), each distinct one recovered by the real program and checked (`recover`). What
//! people see of it is `show::power_cut`'s.

pub(crate) mod disk;
pub(crate) mod recover;
pub(crate) mod states;
pub(crate) mod trace;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use disk::Fate;
use recover::{Confirmed, NextRun, Problem};
use states::Counts;
use trace::{Effect, Step};

use crate::exit::{Error, Exit, Result};
use crate::lang::tr;
use crate::race::interrupt;
use crate::settings::{Durability, Exploration, Persistence};
use crate::show::{out, power_cut};
use crate::sys::record::RECORD_ENV;

/// What one exploration found: the race recorded, and each model's crash states.
pub(crate) struct Explored {
    pub buyers: u32,
    pub tickets: u64,
    pub durability: Durability,
    pub steps: Vec<Step>,
    /// The launcher's pid (the buyers are the other pids in the record).
    pub launcher: u32,
    pub models: Vec<ModelResult>,
    pub took: Duration,
}

/// One model's crash states and the vulnerable ones among them.
pub(crate) struct ModelResult {
    pub model: Persistence,
    pub counts: Counts,
    /// Different disks (with what was confirmed by then) among the states: each recovered.
    pub distinct: u64,
    /// The distinct states that recovered wrongly, each as the first cut that built it.
    pub vulnerable: Vec<Vulnerable>,
}

/// A crash state that recovered wrongly.
pub(crate) struct Vulnerable {
    /// The power went out after this many steps of the record.
    pub cut: usize,
    /// Each unsynced step's fate (the synced ones are on disk).
    pub fates: Vec<(usize, Fate)>,
    pub problems: Vec<Problem>,
}

/// A distinct crash state: the files on disk and the sales confirmed before the cut.
type Key = (Vec<(String, Vec<u8>)>, Vec<Confirmed>);

pub(crate) fn run(exploration: &Exploration, models: &[Persistence]) -> Result<Exit> {
    let started = Instant::now();
    let exe = std::env::current_exe()
        .map_err(|e| Error::environment(tr!("error-no-own-program", error = e.to_string())))?;
    let work = WorkDir::new()?;
    let launcher = record_race(&exe, &work.0, exploration)?;
    let steps = trace::read(&work.0.join("record.jsonl"))?;
    let confirmed = confirmed_by_cut(&steps);
    let mut keys: HashMap<Key, usize> = HashMap::new();
    let mut built = Vec::new();
    for &model in models {
        let mut seen = HashSet::new();
        let mut witnesses = Vec::new();
        let counts = states::build(&steps, model, &mut |state| {
            let key = (state.image.files(), confirmed[state.cut].clone());
            let next = keys.len();
            let index = *keys.entry(key).or_insert(next);
            if seen.insert(index) {
                witnesses.push((index, state.cut, state.fates.to_vec()));
            }
        });
        built.push((model, counts, witnesses));
    }
    let verdicts = recover_all(&exe, &work.0, exploration.tickets, keys)?;
    let Some(verdicts) = verdicts else {
        return Ok(Exit::Interrupted);
    };
    let models = built
        .into_iter()
        .map(|(model, counts, witnesses)| ModelResult {
            model,
            counts,
            distinct: witnesses.len() as u64,
            vulnerable: witnesses
                .into_iter()
                .filter(|(index, _, _)| !verdicts[*index].is_empty())
                .map(|(index, cut, fates)| Vulnerable {
                    cut,
                    fates,
                    problems: verdicts[index].clone(),
                })
                .collect(),
        })
        .collect();
    let explored = Explored {
        buyers: exploration.buyers,
        tickets: exploration.tickets,
        durability: exploration.durability,
        steps,
        launcher,
        models,
        took: started.elapsed(),
    };
    show(&explored, exploration.json)
}

/// Prints what was found and picks the exit status: 1 when a state is vulnerable.
fn show(explored: &Explored, json: bool) -> Result<Exit> {
    if json {
        out::line(&power_cut::json(explored));
    } else {
        out::print(&power_cut::text(explored));
    }
    let vulnerable = explored.models.iter().any(|m| !m.vulnerable.is_empty());
    Ok(if vulnerable {
        Exit::CheckFailed
    } else {
        Exit::Success
    })
}

/// Runs the race once with the recorder on, from an empty directory (the run creates the
/// data file, its lock file and its log); returns the launcher's pid.
fn record_race(exe: &Path, work: &Path, exploration: &Exploration) -> Result<u32> {
    let race = work.join("race");
    std::fs::create_dir(&race).map_err(|e| Error::io("create directory", &race, &e))?;
    let mut command = Command::new(exe);
    command.arg("--data").arg(race.join("data.json"));
    command.args(["--buyers", &exploration.buyers.to_string()]);
    command.args(["--tickets", &exploration.tickets.to_string()]);
    command.args(["--delay-ms", "0..0", "--quiet", "--lang", "en"]);
    if exploration.durability == Durability::NoFsync {
        command.arg("--no-fsync");
    }
    command.env(RECORD_ENV, work.join("record.jsonl"));
    command.stdout(std::process::Stdio::null());
    let child = command
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| Error::io("start the recorded race", exe, &e))?;
    let launcher = child.id();
    let output = child
        .wait_with_output()
        .map_err(|e| Error::io("wait for the recorded race", exe, &e))?;
    if !output.status.success() {
        return Err(Error::buyer(tr!(
            "error-recorded-race-failed",
            stderr = String::from_utf8_lossy(&output.stderr).trim_end()
        )));
    }
    Ok(launcher)
}

/// For every cut, the sales confirmed before it.
fn confirmed_by_cut(steps: &[Step]) -> Vec<Vec<Confirmed>> {
    let mut by_cut = vec![Vec::new()];
    for step in steps {
        let mut now = by_cut.last().cloned().unwrap_or_default();
        if let Effect::Confirmed { buyer, seq } = step.effect {
            now.push(Confirmed { buyer, seq });
        }
        by_cut.push(now);
    }
    by_cut
}

/// Recovers every distinct state once (in the order first built); None if interrupted.
fn recover_all(
    exe: &Path,
    work: &Path,
    tickets: u64,
    keys: HashMap<Key, usize>,
) -> Result<Option<Vec<Vec<Problem>>>> {
    let next = NextRun::new(exe, work.join("state"), tickets);
    let mut ordered: Vec<(usize, Key)> = keys.into_iter().map(|(k, i)| (i, k)).collect();
    ordered.sort_by_key(|(i, _)| *i);
    let mut verdicts = Vec::with_capacity(ordered.len());
    for (_, (files, confirmed)) in &ordered {
        if interrupt::interrupted() {
            return Ok(None);
        }
        verdicts.push(next.check(files, confirmed)?);
    }
    Ok(Some(verdicts))
}

/// The exploration's private directory, removed at the end.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new() -> Result<WorkDir> {
        let dir = std::env::temp_dir().join(format!(
            "grab-tickets-power-cut-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir(&dir).map_err(|e| Error::io("create directory", &dir, &e))?;
        Ok(WorkDir(dir))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
