//! The order log `<data>.orders`, a permanent ledger shared by every participant: one
//! fixed-width JSON line per change to the stock, appended under the lock *before* the data
//! file is replaced, and fdatasynced (when durable) before the sale is confirmed. Nothing ever
//! truncates it but a torn tail. Fixed-width lines let a lock holder read the last entry in
//! one `pread`, and a run read only its own window, however long the ledger has grown.

use crate::safe_text::OneLine;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::directory::DataDir;
use super::document::{MAX_SEQ, seq_after};
use crate::exit::{Error, Result};
use crate::lang::tr;
use crate::sys::record::{self, Op};

/// Bytes per entry, newline included; entries are padded with spaces to this width.
pub const ENTRY_LEN: usize = 160;

/// Entries read back per `pread` when searching backwards from the end (16 KiB).
const BLOCK_ENTRIES: u64 = 100;

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum EntryKind {
    /// The stock was set (`--tickets`), or a hand-written count adopted (`before == after`).
    Restock,
    /// A buyer took one ticket.
    Order,
    /// After a race without the whole-purchase lock: its orders do not chain, so the chain
    /// restarts here at the data file's count (`before == after`).
    Resync,
    /// Takes back the order just before it, whose buyer failed before finishing it: the
    /// ticket goes back (`after == before + 1`).
    Void,
    /// A kind this version does not know (another program's): kept, and settled by its
    /// numbers (`seq`, `before`, `after`) like any entry, never counted as a sale.
    #[serde(other)]
    Unknown,
}

/// One line of the order log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// The data file's `seq` once this change is applied.
    pub seq: u64,
    pub kind: EntryKind,
    /// Identifies the launcher run that wrote it: 16 hex digits for grab-tickets runs;
    /// anything else names another program.
    pub run: String,
    /// Buyer number (0 for the launcher; 0 when another program wrote something else).
    pub buyer: u32,
    /// The writing process (0 when another program wrote something else).
    pub pid: u32,
    /// `ticket_num` before and after this change.
    pub before: u64,
    pub after: u64,
}

/// The order log that belongs to a data file: `data.json` → `data.json.orders`.
pub(crate) fn log_path_for(data: &Path) -> PathBuf {
    let mut name = data.as_os_str().to_owned();
    name.push(".orders");
    PathBuf::from(name)
}

/// An open order log. Opened in append mode so concurrent appends (the no-lock mode) never
/// overwrite each other: each entry is one `write`, which the kernel places atomically at the end.
pub(crate) struct OrderLog {
    file: File,
    path: PathBuf,
}

impl OrderLog {
    /// Opens (creating if needed) the log at `path`, a name in `dir`, by the sidecar rules:
    /// no link followed, a regular file with one link.
    pub(crate) fn open(dir: &DataDir, path: &Path) -> Result<OrderLog> {
        let opened = dir.open_sidecar(path, "order log", crate::sys::Writes::Append)?;
        Ok(OrderLog {
            file: opened.file,
            path: path.to_path_buf(),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// A new open file of the log for reading (its own locks, its own offset), which is this
    /// very file whatever has happened to the name since (how, is `sys::reopen`'s).
    pub(crate) fn open_again(&self) -> Result<File> {
        crate::sys::reopen(&self.file, &self.path)
            .map_err(|e| Error::io("open order log", &self.path, &e))
    }

    /// Appends one entry, in one `write`. Not yet durable: see [`OrderLog::sync`].
    pub(crate) fn append(&self, entry: &Entry) -> Result<()> {
        let line = encode(entry);
        let mut written = 0;
        while written < line.len() {
            match (&self.file).write(&line[written..]) {
                Ok(0) => {
                    self.undo_torn(written);
                    return Err(Error::io(
                        "append to order log",
                        &self.path,
                        &std::io::ErrorKind::WriteZero.into(),
                    ));
                }
                Ok(n) => {
                    record::note(|| Op::Append {
                        name: record::name_of(&self.path),
                        bytes: record::hex(&line[written..written + n]),
                    });
                    written += n;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // A full disk cuts an entry short: take the piece back, so that a
                    // failure leaves the log as it was (the next lock holder would trim it).
                    self.undo_torn(written);
                    return Err(Error::io("append to order log", &self.path, &e));
                }
            }
        }
        Ok(())
    }

    /// Removes the first `written` bytes of an entry whose append failed, if they are still
    /// the log's tail (the log ends that far into an entry), so nobody appended after them.
    fn undo_torn(&self, written: usize) {
        if written == 0 {
            return;
        }
        if let Ok(len) = self.len()
            && len % ENTRY_LEN as u64 == written as u64
        {
            self.truncate(len - written as u64);
        }
    }

    /// Flushes every entry appended so far (by any process) to the disk.
    pub(crate) fn sync(&self) -> Result<()> {
        record::note(|| Op::SyncFile {
            name: record::name_of(&self.path),
        });
        self.file
            .sync_data()
            .map_err(|e| Error::io("fsync order log", &self.path, &e))
    }

    /// The most recent entry whose `seq` is `seq`, searching back from the end. Normally the
    /// one wanted is the last or nearly so; the search stops at the first entry older than it.
    pub(crate) fn find_back(&self, seq: u64) -> Result<Option<Entry>> {
        let mut end = self.len()? / ENTRY_LEN as u64;
        while end > 0 {
            let start = end.saturating_sub(BLOCK_ENTRIES);
            let block = self.read_range(start, end)?;
            for (i, chunk) in block.chunks_exact(ENTRY_LEN).enumerate().rev() {
                if chunk.contains(&0) {
                    continue; // a hole a power cut left among unflushed entries
                }
                let entry = decode(&self.path, chunk, start + i as u64 + 1)?;
                if entry.seq == seq {
                    return Ok(Some(entry));
                }
                if entry.seq < seq {
                    return Ok(None);
                }
            }
            end = start;
        }
        Ok(None)
    }

    /// Entries `from..to` (entry numbers, 0-based) as raw bytes, in one `pread`.
    fn read_range(&self, from: u64, to: u64) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; ((to - from) as usize) * ENTRY_LEN];
        crate::sys::read_exact_at(&self.file, &mut buf, from * ENTRY_LEN as u64)
            .map_err(|e| Error::io("read order log", &self.path, &e))?;
        Ok(buf)
    }

    /// Where the next entry will go, in entries: a run's window starts and ends here.
    pub(crate) fn end(&self) -> Result<u64> {
        Ok(self.len()? / ENTRY_LEN as u64)
    }

    /// Every entry in `window` (entry numbers), read once at the end of a run: only this
    /// run's stretch of the ledger, however long the history before it. Lines that do not
    /// decode (another program's mistake) are returned as text, never an error; entries that
    /// break the chain (see [`Jump`]) are set apart, never counted as sales.
    pub(crate) fn read_window(&self, window: std::ops::Range<u64>) -> Result<Window> {
        let mut read = Window::default();
        if window.is_empty() {
            return Ok(read);
        }
        // The entry just before the window is where its chain starts.
        let first = window.start.saturating_sub(1);
        let bytes = self.read_range(first, window.end)?;
        let mut top: Option<u64> = None;
        for (i, chunk) in bytes.chunks_exact(ENTRY_LEN).enumerate() {
            let line = first + i as u64 + 1;
            if chunk.contains(&0) {
                continue; // a hole a power cut left among unflushed entries
            }
            let decoded = decode(&self.path, chunk, line);
            if line <= window.start {
                top = decoded.ok().map(|e| e.seq);
                continue;
            }
            match decoded {
                Ok(entry) => {
                    let highest = top.map_or(entry.seq, |t| t.max(entry.seq));
                    match top {
                        Some(before) if entry.seq > before.saturating_add(1) => {
                            read.jumps.push(Jump {
                                line,
                                top: before,
                                entry,
                            })
                        }
                        _ => read.entries.push(entry),
                    }
                    top = Some(highest);
                }
                Err(_) => read
                    .unreadable
                    .push(String::from_utf8_lossy(chunk).trim_end().to_string()),
            }
        }
        Ok(read)
    }

    fn read_chunk(&self, index: u64) -> Result<[u8; ENTRY_LEN]> {
        let mut buf = [0u8; ENTRY_LEN];
        crate::sys::read_exact_at(&self.file, &mut buf, index * ENTRY_LEN as u64)
            .map_err(|e| Error::io("read order log", &self.path, &e))?;
        Ok(buf)
    }

    /// Drops what a power cut can leave at the end of the log: a torn entry, entries wholly
    /// or partly zeros (file size written back, contents not), and every entry after such a
    /// hole. None of it was flushed, so no buyer was told it succeeded: an entry after a hole
    /// was appended after it, and an fdatasync that covered the entry would have written the
    /// hole too. Then returns the last entry. One fstat and one pread of the last block (a
    /// hole further back than that needs a whole block of unflushed entries after it). Call
    /// only while holding the lock.
    pub(crate) fn trim_torn_tail_and_read_last(&self) -> Result<Option<Entry>> {
        let len = self.len()?;
        let mut end = len / ENTRY_LEN as u64;
        let mut keep = end;
        let mut last = None;
        while end > 0 {
            let start = end.saturating_sub(BLOCK_ENTRIES);
            let block = self.read_range(start, end)?;
            let chunks: Vec<&[u8]> = block.chunks_exact(ENTRY_LEN).collect();
            // An entry is one write of text and never holds a NUL; one that does was cut by
            // a power cut.
            let intact = chunks.iter().position(|c| c.contains(&0));
            let intact = intact.unwrap_or(chunks.len());
            keep = keep.min(start + intact as u64);
            if intact > 0 {
                let line = start + intact as u64;
                last = Some(decode(&self.path, chunks[intact - 1], line)?);
                break;
            }
            end = start;
        }
        if keep * ENTRY_LEN as u64 != len {
            self.file
                .set_len(keep * ENTRY_LEN as u64)
                .map_err(|e| Error::io("trim order log", &self.path, &e))?;
            record::note(|| Op::Truncate {
                name: record::name_of(&self.path),
                len: keep * ENTRY_LEN as u64,
            });
        }
        Ok(last)
    }

    /// Checks, without changing anything, that the last entry (the one the next lock holder
    /// relies on) is readable, and returns it. A torn tail is fine: the next lock holder
    /// trims it.
    pub(crate) fn check_tail(&self) -> Result<Option<Entry>> {
        let count = self.len()? / ENTRY_LEN as u64;
        for index in (0..count).rev() {
            let chunk = self.read_chunk(index)?;
            if !chunk.contains(&0) {
                return decode(&self.path, &chunk, index + 1).map(Some);
            }
        }
        Ok(None)
    }

    /// Cuts the log to `len` bytes, best effort (the next lock holder trims what is left).
    fn truncate(&self, len: u64) {
        if self.file.set_len(len).is_ok() {
            record::note(|| Op::Truncate {
                name: record::name_of(&self.path),
                len,
            });
        }
    }

    fn len(&self) -> Result<u64> {
        self.file
            .metadata()
            .map(|m| m.len())
            .map_err(|e| Error::io("inspect order log", &self.path, &e))
    }
}

fn encode(entry: &Entry) -> Vec<u8> {
    let mut line = serde_json::to_vec(entry).expect("an entry serializes");
    assert!(
        line.len() < ENTRY_LEN,
        "order log entry too long: {}",
        line.len()
    );
    line.resize(ENTRY_LEN - 1, b' ');
    line.push(b'\n');
    line
}

/// An entry as another program may write it: `seq`, `kind`, `before` and `after` are what
/// the ledger depends on; `run`, `buyer` and `pid` of another shape are kept as well as they
/// can be, and extra keys are ignored.
#[derive(Deserialize)]
struct Lenient {
    seq: u64,
    kind: EntryKind,
    #[serde(default)]
    run: serde_json::Value,
    #[serde(default)]
    buyer: serde_json::Value,
    #[serde(default)]
    pid: serde_json::Value,
    before: u64,
    after: u64,
}

fn decode(path: &Path, bytes: &[u8], line: u64) -> Result<Entry> {
    let raw: Lenient = serde_json::from_slice(bytes).map_err(|e| {
        Error::bad_data(tr!(
            "error-log-unparsed",
            path = path.one_line(),
            line = line.to_string(),
            error = super::document::json_problem(&e)
        ))
    })?;
    if raw.seq > MAX_SEQ {
        return Err(Error::bad_data(tr!(
            "error-log-seq-too-large",
            path = path.one_line(),
            line = line,
            seq = raw.seq.to_string(),
            max = MAX_SEQ.to_string()
        )));
    }
    let small = |v: &serde_json::Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
    Ok(Entry {
        seq: raw.seq,
        kind: raw.kind,
        run: match raw.run {
            serde_json::Value::String(run) => run,
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        },
        buyer: small(&raw.buyer).unwrap_or(0),
        pid: small(&raw.pid).unwrap_or(0),
        before: raw.before,
        after: raw.after,
    })
}

/// The seq after `seq`, checked: the ledger never passes [`MAX_SEQ`] (every reader refuses
/// more), and never wraps.
pub(crate) fn next_seq(seq: u64, log: &Path) -> Result<u64> {
    seq_after(seq).ok_or_else(|| {
        Error::bad_data(tr!(
            "error-seq-at-maximum",
            log = log.one_line(),
            max = MAX_SEQ.to_string()
        ))
    })
}

/// A run's stretch of the ledger.
#[derive(Debug, Default)]
pub(crate) struct Window {
    pub entries: Vec<Entry>,
    /// Lines that were not entries, as text (shown in the report).
    pub unreadable: Vec<String>,
    /// Entries that break the chain: forged history, never believed.
    pub jumps: Vec<Jump>,
}

/// An entry whose `seq` is more than one past every seq before it in the ledger. Every writer
/// that keeps the protocol takes its seq from the data file, whose seq an entry before it
/// wrote, so it writes at most one past the highest seq so far (without the lock, seqs repeat,
/// but never skip ahead). Only a program that broke the protocol writes this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Jump {
    /// Its line in the order log, from 1.
    pub line: u64,
    /// The highest seq before it.
    pub top: u64,
    pub entry: Entry,
}

impl Entry {
    /// The entry that takes this order back: the ticket returns to the stock.
    pub(crate) fn voided(&self) -> Entry {
        Entry {
            seq: self.seq + 1,
            kind: EntryKind::Void,
            before: self.after,
            after: self.before,
            ..self.clone()
        }
    }

    /// Whether a grab-tickets launcher run wrote it: its run id is 16 lowercase hex digits
    /// (the protocol's rule; any other name, uppercase hex included, is another program's).
    pub(crate) fn by_grab_tickets(&self) -> bool {
        self.run.len() == 16
            && self
                .run
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }
}

impl std::fmt::Debug for OrderLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OrderLog({})", self.path.display())
    }
}
