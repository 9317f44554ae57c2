//! `grab-tickets doctor`: is it safe to race in the directory the data file lives in? It
//! names the filesystem (and what its family cannot promise), then tests it with real
//! processes and the shop's own calls: the race's lock held by one process refuses another
//! (`locks`), flock and fcntl locks compared (`locks`), the data file replaced thousands of
//! times under a reader that must never see it missing or torn (`replace`), and fsync of a
//! file and of the directory (`sync`). Each probe's second process is this binary in a hidden
//! mode (`helper`); every file is the checkup's own and removed after (`scratch`).

mod answer;
mod filesystem;
mod findings;
mod helper;
mod locks;
mod replace;
mod scratch;
mod sync;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::exit::{Exit, Result};
use crate::lang::{self, Lang, tr};
use crate::race::interrupt;
use crate::settings::{Answer, Checkup};
use crate::shop::directory::resolve_data_path;
use crate::sys::{self, Volume};
use filesystem::Family;
use findings::{Finding, Outcome, Probe, Verdict};
use scratch::Scratch;

pub(crate) use helper::{Assignment, assignment};

/// Everything the checkup learnt, for the views in `answer`.
pub(crate) struct Diagnosis {
    /// The data path as given.
    data: PathBuf,
    /// The directory checked, absolute.
    directory: PathBuf,
    /// The filesystem, or why it could not be named.
    volume: std::result::Result<Volume, String>,
    family: Family,
    findings: Vec<Finding>,
    verdict: Verdict,
    /// The checkup's own files it could not remove (nothing, normally).
    left: Vec<String>,
    took: Duration,
}

pub(crate) fn run(checkup: Checkup) -> Result<Exit> {
    let started = Instant::now();
    interrupt::install();
    let data = resolve_data_path(&checkup.data)?;
    let directory = directory_of(&data);
    let volume = sys::volume_of(&directory).map_err(|e| e.to_string());
    let family = volume
        .as_ref()
        .map_or(Family::Unknown, filesystem::family_of);
    // A script reads the same document in every classroom: even the errors in English.
    let (findings, left) = match checkup.answer {
        Answer::Json => lang::speaking(Lang::En, || examine(&directory)),
        Answer::Text => examine(&directory),
    };
    if interrupt::interrupted() {
        eprintln!("{}", tr!("doctor-interrupted"));
        return Ok(Exit::Interrupted);
    }
    let verdict = Verdict::overall(&findings);
    let diagnosis = Diagnosis {
        data: checkup.data,
        directory,
        volume,
        family,
        findings,
        verdict,
        left,
        took: started.elapsed(),
    };
    answer::show(&diagnosis, checkup.answer);
    Ok(verdict.exit())
}

/// The directory `data` lives in, made absolute.
fn directory_of(data: &Path) -> PathBuf {
    let dir = match data.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    // Not canonicalize: on Windows it writes the verbatim form (\\?\C:\...), and the data
    // path's links were already followed.
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// Runs every probe in `directory` if it can be written in; else each is "cannot test", and
/// says why. Returns the findings and the names the clean-up could not remove.
fn examine(directory: &Path) -> (Vec<Finding>, Vec<String>) {
    let untested = |outcome: Outcome, error: Option<String>| {
        Probe::ALL
            .iter()
            .map(|&probe| Finding {
                probe,
                outcome,
                error: error.clone(),
                took: Duration::ZERO,
            })
            .collect()
    };
    if !directory.is_dir() {
        return (untested(Outcome::NoDirectory, None), Vec::new());
    }
    let scratch = Scratch::new(directory);
    if let Err(e) = scratch.try_write() {
        return (
            untested(Outcome::NotWritable, Some(e.to_string())),
            scratch.clean(),
        );
    }
    let probes: [fn(&Scratch) -> Finding; 5] = [
        locks::exclusive_lock,
        locks::flock_and_fcntl,
        replace::atomic_replace,
        sync::file_fsync,
        sync::directory_fsync,
    ];
    // Ctrl-C ends the probe under way, then the checkup, its files removed all the same.
    let findings = probes
        .iter()
        .take_while(|_| !interrupt::interrupted())
        .map(|probe| probe(&scratch))
        .collect();
    (findings, scratch.clean())
}

/// Runs the helper process this one was started as (see `helper`); its exit says nothing,
/// its lines say everything.
pub(crate) fn run_helper(assignment: Assignment) -> Exit {
    let Assignment { role, path, arg } = assignment;
    match role {
        helper::Role::Lock => locks::contend(&path),
        helper::Role::Kinds => locks::try_kinds(&path),
        helper::Role::Reader => replace::read_loop(&path, arg.as_deref()),
    }
    Exit::Success
}
