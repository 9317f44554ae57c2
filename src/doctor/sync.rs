//! The fsync probes: the race fsyncs its order log before it confirms a sale, and the
//! directory after a file is created or renamed in it (docs/power-cuts.md). Here each is done
//! once, the shop's own way: on a filesystem that refuses either, a run with fsync stops.

use std::io::Write as _;
use std::time::Instant;

use super::findings::{Finding, Outcome, Probe};
use super::scratch::Scratch;
use crate::shop::directory::DataDir;
use crate::sys::{self, DirSync};

pub(crate) fn file_fsync(scratch: &Scratch) -> Finding {
    let started = Instant::now();
    let path = scratch.path("sync");
    let tried = DataDir::open(&path)
        .map_err(|e| (Outcome::NotWritable, e.to_string()))
        .and_then(|(dir, name)| {
            let mut file = dir
                .create_new(name)
                .and_then(|mut f| f.write_all(&[b'x'; 4096]).map(|()| f))
                .map_err(|e| {
                    (
                        Outcome::NotWritable,
                        format!("{}: {e}", crate::safe_text::OneLine::one_line(&*path)),
                    )
                })?;
            file.flush().and_then(|()| file.sync_all()).map_err(|e| {
                (
                    Outcome::SyncRefused,
                    format!("{}: {e}", crate::safe_text::OneLine::one_line(&*path)),
                )
            })
        });
    finding(Probe::FileFsync, tried, started)
}

pub(crate) fn directory_fsync(scratch: &Scratch) -> Finding {
    let started = Instant::now();
    let tried = match sys::DIR_SYNC {
        DirSync::WriteThrough => Err((Outcome::DirectorySyncWriteThrough, String::new())),
        DirSync::Fsync => DataDir::open(&scratch.path("dir"))
            .map_err(|e| (Outcome::NotWritable, e.to_string()))
            .and_then(|(dir, _)| {
                dir.sync()
                    .map_err(|e| (Outcome::SyncRefused, e.to_string()))
            }),
    };
    finding(Probe::DirectoryFsync, tried, started)
}

fn finding(probe: Probe, tried: Result<(), (Outcome, String)>, started: Instant) -> Finding {
    let (outcome, error) = match tried {
        Ok(()) => (Outcome::SyncWorks, None),
        Err((outcome, why)) => (outcome, Some(why).filter(|w| !w.is_empty())),
    };
    Finding {
        probe,
        outcome,
        error,
        took: started.elapsed(),
    }
}
