//! The replace probe: the data file is replaced thousands of times through the shop's own
//! path (`data_file::write`: a temp file beside it, swapped in), while a helper process reads
//! it in a loop the way buyers open it. A reader must never find the file missing, or part of
//! it: every read a whole document, of the one length every version has.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::findings::{Finding, Outcome, Probe, Reads};
use super::helper::{Helper, Role, Silence, heard, tell};
use super::scratch::Scratch;
use crate::race::interrupt;
use crate::shop::data_file::{self, DataFile};
use crate::shop::document::{self, Stock};
use crate::shop::planted::{Bug, planted};
use crate::sys;

/// Replaces made while the reader reads.
pub(crate) const SWAPS: u64 = 2000;
/// The first number written; every one after stays four digits, so every version of the
/// document is exactly as long and a torn one shows.
const FIRST: u64 = 1000;
/// Padding that makes the document a page long, so a write done in pieces could show.
const PAD: usize = 4000;

pub(crate) fn atomic_replace(scratch: &Scratch) -> Finding {
    let started = Instant::now();
    let (outcome, error) = match swap_while_read(&scratch.path("replace.json")) {
        Ok(outcome) => (outcome, None),
        Err((outcome, why)) => (outcome, Some(why)),
    };
    Finding {
        probe: Probe::AtomicReplace,
        outcome,
        error,
        took: started.elapsed(),
    }
}

fn document_at(n: u64) -> Vec<u8> {
    format!(
        "{{\"ticket_num\": {n}, \"seq\": {n}, \"note\": \"grab-tickets doctor: {}\"}}\n",
        "x".repeat(PAD)
    )
    .into_bytes()
}

fn swap_while_read(path: &Path) -> Result<Outcome, (Outcome, String)> {
    let fail = |outcome| move |e: crate::exit::Error| (outcome, e.to_string());
    let data = DataFile::open(path).map_err(fail(Outcome::NotWritable))?;
    let first = document_at(FIRST);
    let len = first.len();
    let mut stock: Stock = document::parse(path, first).map_err(fail(Outcome::HelperFailed))?;
    data_file::write(&data, &stock).map_err(fail(Outcome::NotWritable))?;
    let silent = |s: Silence| (Outcome::HelperFailed, s.0);
    let mut reader = Helper::spawn(Role::Reader, path, Some(&len.to_string())).map_err(silent)?;
    reader.expect("ready").map_err(silent)?;
    let mut swaps = 0;
    let mut failed = None;
    for n in (FIRST + 1..=FIRST + SWAPS).take_while(|_| !interrupt::interrupted()) {
        stock.ticket_num = n;
        stock.seq = n;
        if let Err(e) = replace(&data, &stock) {
            failed = Some(e.to_string());
            break;
        }
        swaps += 1;
    }
    let counts = reader.finish().map_err(silent)?;
    let mut reads: Reads = serde_json::from_str(&counts)
        .map_err(|e| (Outcome::HelperFailed, format!("{counts:?}: {e}")))?;
    reads.swaps = swaps;
    if let Some(why) = failed {
        return Err((Outcome::ReplaceFailed(reads), why));
    }
    Ok(if reads.missing + reads.partial + reads.failed > 0 {
        Outcome::ReplaceTorn(reads)
    } else if reads.changes == 0 {
        Outcome::ReaderSawNoSwap(reads)
    } else {
        Outcome::ReplaceAtomic(reads)
    })
}

/// The shop's replace; or, with the `torn-replace` bug planted, the mistake it avoids: the
/// file truncated and rewritten in place, in two writes.
fn replace(data: &DataFile, stock: &Stock) -> crate::exit::Result<()> {
    if !planted(Bug::TornReplace) {
        return data_file::write(data, stock);
    }
    let bytes = stock.to_json();
    let (head, tail) = bytes.split_at(bytes.len() / 2);
    std::fs::File::create(data.path())
        .and_then(|mut file| file.write_all(head).and_then(|()| file.write_all(tail)))
        .map_err(|e| crate::exit::Error::io("replace data file", data.path(), &e))
}

/// The helper's side: reads the data file at `path` in a loop until the checkup closes its
/// stdin, then answers its counts as one JSON line. `len` is every version's length.
pub(crate) fn read_loop(path: &Path, len: Option<&str>) {
    let Some(len) = len.and_then(|l| l.parse::<usize>().ok()) else {
        return tell("failed the reader needs the document's length");
    };
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return tell("failed the reader needs a file's path");
    };
    let dir = match sys::Dir::open(dir) {
        Ok(dir) => dir,
        Err(e) => {
            return tell(&format!(
                "failed {}: {e}",
                crate::safe_text::OneLine::one_line(dir)
            ));
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = Arc::clone(&stop);
    std::thread::spawn(move || {
        while heard().is_some() {}
        stopping.store(true, Ordering::SeqCst);
    });
    let mut reads = Reads::default();
    let mut last = None;
    tell("ready");
    while !stop.load(Ordering::SeqCst) {
        let mut bytes = Vec::with_capacity(len + 1);
        let read = dir
            .open_read(name)
            .and_then(|mut f| f.read_to_end(&mut bytes));
        match read {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => reads.missing += 1,
            Err(_) => reads.failed += 1,
            Ok(_) if bytes.len() != len => reads.partial += 1,
            Ok(_) => match document::parse(path, bytes) {
                Err(_) => reads.partial += 1,
                Ok(stock) => {
                    reads.whole += 1;
                    if last.is_some_and(|n| n != stock.ticket_num) {
                        reads.changes += 1;
                    }
                    last = Some(stock.ticket_num);
                }
            },
        }
    }
    tell(&serde_json::to_string(&reads).unwrap_or_default());
}
