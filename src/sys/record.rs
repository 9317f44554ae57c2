//! The power-cut recorder: when `GRAB_TICKETS_RECORD` names a file, every process of a run
//! appends to it, in the order they happen, the operations that change the shop's files on
//! disk and the moments a buyer confirms a sale. `explore --power-cut` turns it on and builds
//! every crash state from the record. Off (the normal case), a hook costs one load of a
//! `OnceLock`.
//!
//! Each record is one JSON line written with one `write` to a file opened `O_APPEND`, so the
//! lines of concurrent processes never mix and their order is the kernel's order. Where a
//! record goes relative to its syscall matters for soundness: a change is recorded after it
//! happened, a sync before it starts. A sync then never seems to cover a change it missed.
//! The lock file's pid slot is recorded too (a pwrite at offset 0), though it holds no data,
//! only a name for messages: so the record has every write the shop's files see.

use std::ffi::OsStr;
use std::fs::File;
use std::io::Write as _;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The environment variable that turns recording on: the record file's path.
pub(crate) const RECORD_ENV: &str = "GRAB_TICKETS_RECORD";

/// One change to the shop's directory or files, as the program made it. Names are file
/// names in the data file's directory (every shop file lives there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Op {
    /// A new file (`O_CREAT | O_EXCL`).
    Create { name: String },
    /// `bytes` (hex) written at `offset`.
    Write {
        name: String,
        offset: u64,
        bytes: String,
    },
    /// `bytes` (hex) appended (`O_APPEND`) in one `write`.
    Append { name: String, bytes: String },
    /// `ftruncate` to `len`.
    Truncate { name: String, len: u64 },
    /// `fdatasync` (or `fsync`) of the file: recorded as it starts.
    SyncFile { name: String },
    /// `fsync` of the directory: recorded as it starts.
    SyncDir,
    /// `renameat`: `to` now names what `from` named (replacing it, if anything was there).
    Rename { from: String, to: String },
    /// `renameat2(RENAME_EXCHANGE)`: the two names trade files.
    Exchange { a: String, b: String },
    /// `unlinkat`.
    Unlink { name: String },
    /// Buyer `buyer` told the launcher it bought the ticket of order `seq`.
    Confirmed { buyer: u32, seq: u64 },
}

/// One line of the record: which process did what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Recorded {
    pub pid: u32,
    #[serde(flatten)]
    pub op: Op,
}

/// The record file, if recording is on: opened once per process.
fn record_file() -> Option<&'static File> {
    static FILE: OnceLock<Option<File>> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = std::env::var_os(RECORD_ENV)?;
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .ok()
    })
    .as_ref()
}

/// Records the operation `op()` makes, if recording is on (`op` is not called otherwise).
pub(crate) fn note(op: impl FnOnce() -> Op) {
    let Some(mut file) = record_file() else {
        return;
    };
    let recorded = Recorded {
        pid: std::process::id(),
        op: op(),
    };
    let mut line = serde_json::to_vec(&recorded).expect("a record serializes");
    line.push(b'\n');
    // One write: the kernel appends it whole, never interleaved with another process's line.
    let _ = file.write_all(&line);
}

/// Where `explore --power-cut` copies the crash states it recovers: a directory in memory
/// when the system has one (Linux's `/dev/shm`, a tmpfs), since the next runs' own fsyncs are
/// not what is checked and cost most of a recovery on a disk; else the temp directory.
pub(crate) fn scratch_dir() -> std::path::PathBuf {
    #[cfg(target_os = "linux")]
    {
        let shm = std::path::Path::new("/dev/shm");
        if shm.is_dir() {
            return shm.to_path_buf();
        }
    }
    std::env::temp_dir()
}

/// A file name as the record spells it.
pub(crate) fn name(name: &OsStr) -> String {
    name.to_string_lossy().into_owned()
}

/// The file name of a path in the data file's directory.
pub(crate) fn name_of(path: &std::path::Path) -> String {
    path.file_name().map(name).unwrap_or_default()
}

/// Bytes as lower-case hex, two digits each.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes `hex` spelled, or None if it is not hex.
pub(crate) fn unhex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_line_round_trips() {
        let recorded = Recorded {
            pid: 7,
            op: Op::Append {
                name: "data.json.orders".into(),
                bytes: hex(b"{}\n"),
            },
        };
        let line = serde_json::to_string(&recorded).unwrap();
        assert_eq!(
            line,
            r#"{"pid":7,"op":"append","name":"data.json.orders","bytes":"7b7d0a"}"#
        );
        assert_eq!(serde_json::from_str::<Recorded>(&line).unwrap(), recorded);
        assert_eq!(unhex("7b7d0a").unwrap(), b"{}\n");
        assert_eq!(unhex("7"), None);
    }
}
