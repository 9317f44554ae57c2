//! The order log `<data>.orders`: one fixed-width JSON line per change to the stock, appended
//! under the lock *before* the data file is replaced, and fdatasynced (when durable) before
//! the sale is confirmed. It is the commit point of a purchase, and fixed-width lines let the
//! next lock holder read the last entry in one `pread`, however long the log has grown.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::directory::DataDir;
use crate::exit::{Error, Result};

/// Bytes per entry, newline included; entries are padded with spaces to this width.
pub const ENTRY_LEN: usize = 160;

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// The launcher set the stock (first entry of a fresh log).
    Restock,
    /// A buyer took one ticket.
    Order,
}

/// One line of the order log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The data file's `seq` once this change is applied.
    pub seq: u64,
    pub kind: EntryKind,
    /// Identifies the launcher run that wrote it.
    pub run: String,
    /// Buyer number (0 for the launcher).
    pub buyer: u32,
    pub pid: u32,
    /// `ticket_num` before and after this change.
    pub before: u64,
    pub after: u64,
}

/// The order log that belongs to a data file: `data.json` → `data.json.orders`.
pub fn log_path_for(data: &Path) -> PathBuf {
    let mut name = data.as_os_str().to_owned();
    name.push(".orders");
    PathBuf::from(name)
}

/// An open order log. Opened in append mode so concurrent appends (the no-lock mode) never
/// overwrite each other: each entry is one `write`, which the kernel places atomically at the end.
pub struct OrderLog {
    file: File,
    path: PathBuf,
}

impl OrderLog {
    /// Opens (creating if needed) the log at `path`, a name in `dir`, by the sidecar rules:
    /// no link followed, a regular file with one link.
    pub fn open(dir: &DataDir, path: &Path) -> Result<OrderLog> {
        let opened = dir.open_sidecar(path, "order log", rustix::fs::OFlags::APPEND)?;
        Ok(OrderLog {
            file: opened.file,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry, in one `write`. Not yet durable: see [`OrderLog::sync`].
    pub fn append(&self, entry: &Entry) -> Result<()> {
        (&self.file)
            .write_all(&encode(entry))
            .map_err(|e| Error::io("append to order log", &self.path, &e))
    }

    /// Flushes every entry appended so far (by any process) to the disk.
    pub fn sync(&self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(|e| Error::io("fsync order log", &self.path, &e))
    }

    /// The entry whose `seq` is `seq`, found in one `pread`: a log holds consecutive seqs
    /// from its first entry on, so the position follows from the first entry's seq.
    pub fn entry_with_seq(&self, seq: u64) -> Result<Option<Entry>> {
        let count = self.len()? / ENTRY_LEN as u64;
        let Some(first) = self.read_entry(0, count)? else {
            return Ok(None);
        };
        let Some(index) = seq.checked_sub(first.seq) else {
            return Ok(None);
        };
        Ok(self.read_entry(index, count)?.filter(|e| e.seq == seq))
    }

    fn read_entry(&self, index: u64, count: u64) -> Result<Option<Entry>> {
        if index >= count {
            return Ok(None);
        }
        decode(&self.path, &self.read_chunk(index)?, index + 1).map(Some)
    }

    fn read_chunk(&self, index: u64) -> Result<[u8; ENTRY_LEN]> {
        let mut buf = [0u8; ENTRY_LEN];
        self.file
            .read_exact_at(&mut buf, index * ENTRY_LEN as u64)
            .map_err(|e| Error::io("read order log", &self.path, &e))?;
        Ok(buf)
    }

    /// Drops what a power cut can leave at the end of the log: a torn entry, or entries
    /// wholly or partly zeros (file size written back, contents not). Neither was flushed,
    /// so no buyer was told it succeeded. Then returns the last entry: one fstat and one pread in the normal
    /// case. Call only while holding the lock.
    pub fn trim_torn_tail_and_read_last(&self) -> Result<Option<Entry>> {
        let len = self.len()?;
        let mut count = len / ENTRY_LEN as u64;
        let mut last = None;
        while count > 0 {
            let chunk = self.read_chunk(count - 1)?;
            // An entry is one write of text and never holds a NUL; one that does was cut by
            // a power cut (the file's size reached the disk, part of its contents did not).
            if !chunk.contains(&0) {
                last = Some(decode(&self.path, &chunk, count)?);
                break;
            }
            count -= 1;
        }
        if count * ENTRY_LEN as u64 != len {
            self.file
                .set_len(count * ENTRY_LEN as u64)
                .map_err(|e| Error::io("trim order log", &self.path, &e))?;
        }
        Ok(last)
    }

    /// Empties the log and writes `first`: a new stock starts a new history. Not flushed:
    /// the first confirmed sale's fdatasync carries it to the disk (it is an earlier write to
    /// the same file), and until a sale is confirmed a power cut may only undo the restock.
    pub fn restart(&self, first: &Entry) -> Result<()> {
        self.file
            .set_len(0)
            .map_err(|e| Error::io("truncate order log", &self.path, &e))?;
        self.append(first)
    }

    /// Every entry written by `run` (read once, at the end of a run).
    pub fn entries_of_run(&self, run: &str) -> Result<Vec<Entry>> {
        // Through the open file, not the path: the name may have been replaced since.
        let mut bytes = vec![0; self.len()? as usize];
        self.file
            .read_exact_at(&mut bytes, 0)
            .map_err(|e| Error::io("read order log", &self.path, &e))?;
        let mut entries = Vec::new();
        for (index, chunk) in bytes.chunks_exact(ENTRY_LEN).enumerate() {
            if chunk.contains(&0) {
                continue; // a hole a power cut left among unflushed entries
            }
            let entry = decode(&self.path, chunk, index as u64 + 1)?;
            if entry.run == run {
                entries.push(entry);
            }
        }
        Ok(entries)
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

fn decode(path: &Path, bytes: &[u8], line: u64) -> Result<Entry> {
    serde_json::from_slice(bytes).map_err(|e| {
        Error::bad_data(format!(
            "failed to parse order log {} at line {line}: {e}; the log is written only by \
             grab-tickets; move it aside and run again without --keep-stock to start a new one",
            path.display()
        ))
    })
}

impl std::fmt::Debug for OrderLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OrderLog({})", self.path.display())
    }
}
