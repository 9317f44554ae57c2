//! `grab-tickets explore --power-cut`: a real race recorded (`sys::record`) from each shop a
//! run may start from (`race`), every crash state a persistence model allows built from each
//! record (`states`, on `disk` images of the `trace`), each distinct one recovered by the real
//! program and checked (`recover`). What people see of it is `show::power_cut`'s.

pub(crate) mod disk;
mod ordered;
pub(crate) mod race;
pub(crate) mod recover;
pub(crate) mod states;
pub(crate) mod trace;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use disk::Fate;
use race::{Recorded, Start};
use recover::{Confirmed, Problem, State};
use states::Counts;
use trace::{Effect, File, Step};

use crate::exit::{Error, Exit, Result};
use crate::lang::tr;
use crate::race::interrupt;
use crate::settings::{Durability, Exploration, Persistence};
use crate::show::{out, power_cut};

/// What one exploration found: a race recorded from each start, and its crash states.
pub(crate) struct Explored {
    pub buyers: u32,
    pub tickets: u64,
    pub durability: Durability,
    pub scenarios: Vec<Scenario>,
    /// Distinct crash states recovered (a state two starts or models share, once).
    pub recovered: u64,
    pub took: Duration,
}

/// One start's race and what each model built from it.
pub(crate) struct Scenario {
    pub start: Start,
    pub steps: Vec<Step>,
    /// The launcher's pid (the buyers are the other pids in the record).
    pub launcher: u32,
    pub models: Vec<ModelResult>,
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

impl Explored {
    /// Whether any start's race left a state under any model that recovered wrongly.
    pub(crate) fn vulnerable(&self) -> usize {
        let models = self.scenarios.iter().flat_map(|s| &s.models);
        models.map(|m| m.vulnerable.len()).sum()
    }
}

/// A start's crash states under one model, before recovery: each distinct state (an index
/// into the states to recover) with the first cut and fates that built it.
type Witnesses = Vec<(usize, usize, Vec<(usize, Fate)>)>;

/// What one model built from one start's record.
type Built = (Persistence, Counts, Witnesses);

pub(crate) fn run(exploration: &Exploration, models: &[Persistence]) -> Result<Exit> {
    let started = Instant::now();
    let exe = std::env::current_exe()
        .map_err(|e| Error::environment(tr!("error-no-own-program", error = e.to_string())))?;
    let work = WorkDir::new_in(&std::env::temp_dir())?;
    // Every distinct state once, whichever start and model built it: a disk and the sales
    // confirmed by then are all the next run and the check depend on. A temp file is left
    // out of what makes a state distinct: no process reads a temp file it did not create
    // (each draws a fresh random name, `O_EXCL`), so its bytes cannot change a recovery.
    // Nor do the lock file's bytes: its pid slot is read only to name a holder in a message
    // (a zeroed slot names "another process"; a torn or stale one may name a pid that does not
    // hold the lock: a hint in a message, never a decision), so of
    // the lock file only its name counts. The first state built of each kind is the one recovered,
    // temp files, pid slot and all.
    let mut index: HashMap<State, usize> = HashMap::new();
    let mut states: Vec<State> = Vec::new();
    let mut built: Vec<(Recorded, Vec<Built>)> = Vec::new();
    for start in Start::ALL {
        if interrupt::interrupted() {
            return Ok(Exit::Interrupted);
        }
        let recorded = race::record(&exe, &work.0, start, exploration)?;
        let confirmed = confirmed_by_cut(&recorded);
        let mut per_model = Vec::new();
        for &model in models {
            let mut seen = HashSet::new();
            let mut witnesses = Vec::new();
            let counts = states::build(&recorded.record, model, &mut |state| {
                let files = state.image.files();
                let kept = files.iter().filter(|(name, _)| !is_temp(name));
                let key = (
                    kept.map(what_counts).collect(),
                    confirmed[state.cut].clone(),
                );
                let at = *index.entry(key).or_insert_with(|| {
                    states.push((files, confirmed[state.cut].clone()));
                    states.len() - 1
                });
                if seen.insert(at) {
                    witnesses.push((at, state.cut, state.fates.to_vec()));
                }
            });
            per_model.push((model, counts, witnesses));
        }
        built.push((recorded, per_model));
    }
    let scratch = WorkDir::new_in(&crate::sys::record::scratch_dir())?;
    let verdicts = recover::recover_all(&exe, &scratch.0, exploration.tickets, &states)?;
    let Some(verdicts) = verdicts.filter(|_| !interrupt::interrupted()) else {
        return Ok(Exit::Interrupted);
    };
    let scenarios = built
        .into_iter()
        .map(|(recorded, per_model)| scenario(recorded, per_model, &verdicts))
        .collect();
    let explored = Explored {
        buyers: exploration.buyers,
        tickets: exploration.tickets,
        durability: exploration.durability,
        scenarios,
        recovered: states.len() as u64,
        took: started.elapsed(),
    };
    show(&explored, exploration.json)
}

/// A start's models with the verdicts of their states.
fn scenario(recorded: Recorded, per_model: Vec<Built>, verdicts: &[Vec<Problem>]) -> Scenario {
    let models = per_model
        .into_iter()
        .map(|(model, counts, witnesses)| ModelResult {
            model,
            counts,
            distinct: witnesses.len() as u64,
            vulnerable: witnesses
                .into_iter()
                .filter(|(at, _, _)| !verdicts[*at].is_empty())
                .map(|(at, cut, fates)| Vulnerable {
                    cut,
                    fates,
                    problems: verdicts[at].clone(),
                })
                .collect(),
        })
        .collect();
    Scenario {
        start: recorded.start,
        steps: recorded.record.steps,
        launcher: recorded.launcher,
        models,
    }
}

/// Prints what was found and picks the exit status: 1 when a state is vulnerable.
fn show(explored: &Explored, json: bool) -> Result<Exit> {
    if json {
        out::line(&power_cut::json(explored));
    } else {
        out::print(&power_cut::text(explored));
    }
    Ok(if explored.vulnerable() > 0 {
        Exit::CheckFailed
    } else {
        Exit::Success
    })
}

/// For every cut, the sales confirmed before it: those before the race, then the race's.
fn confirmed_by_cut(recorded: &Recorded) -> Vec<Vec<Confirmed>> {
    let mut by_cut = vec![recorded.confirmed_before.clone()];
    for step in &recorded.record.steps {
        let mut now = by_cut.last().cloned().unwrap_or_default();
        if let Effect::Confirmed { buyer, seq } = step.effect {
            now.push(Confirmed {
                buyer,
                seq,
                pid: step.pid,
            });
        }
        by_cut.push(now);
    }
    by_cut
}

/// What of a file can change a recovery: its bytes, except the lock file's (a pid slot).
fn what_counts((name, bytes): &File) -> File {
    let bytes = if name == LOCK {
        Vec::new()
    } else {
        bytes.clone()
    };
    (name.clone(), bytes)
}

/// The lock file of the explorer's data.json.
const LOCK: &str = "data.json.lock";

/// Whether `name` is a fresh temp file of the data file, `data.json.<pid>.<16 hex>.tmp`,
/// exactly. Only such a name is known never to be opened by another process (a spare file
/// under a fixed name, which a later run might reuse, still counts); what a temp file holds
/// matters once an exchange makes it data.json, and then it counts under that name.
fn is_temp(name: &str) -> bool {
    let middle = name
        .strip_prefix("data.json.")
        .and_then(|n| n.strip_suffix(".tmp"));
    let Some((pid, random)) = middle.and_then(|m| m.split_once('.')) else {
        return false;
    };
    !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && random.len() == 16
        && random.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The exploration's private directory, removed at the end.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new_in(parent: &std::path::Path) -> Result<WorkDir> {
        let dir = parent.join(format!(
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

#[cfg(test)]
mod tests {
    use super::is_temp;

    #[test]
    fn only_a_fresh_temp_name_is_left_out_of_a_state() {
        assert!(is_temp("data.json.4242.0123456789abcdef.tmp"));
        for other in [
            "data.json",
            "data.json.orders",
            "data.json.spare.tmp",
            "data.json.4242.tmp",
            "data.json.x2.0123456789abcdef.tmp",
        ] {
            assert!(!is_temp(other), "{other}");
        }
    }
}
