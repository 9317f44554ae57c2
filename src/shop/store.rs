//! Reads and writes `data.json`. A write never changes the file in place: a complete new
//! file is written beside it and swapped in, so every reader sees a whole document. Knows no
//! locking; callers decide when it is safe to write. Nothing here fsyncs the data file: the
//! order log is the durable record, and recovery rebuilds the data file from it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::exit::{Error, Result, shown};
use crate::settings::MAX_TICKETS;

/// A data file larger than this is not a ticket counter; refuse rather than read it all.
const MAX_DATA_BYTES: u64 = 64 * 1024;
/// Largest `seq` accepted: half of u64, so `seq + 1` for the next order can never overflow,
/// however many changes a long-lived file has seen (2^63 is out of reach of any real run).
const MAX_SEQ: u64 = u64::MAX / 2;

/// The contents of the data file.
#[derive(Debug, Clone, PartialEq)]
pub struct Stock {
    pub ticket_num: u64,
    /// Number of the last change recorded in the order log (0 for a hand-written file).
    pub seq: u64,
    /// Whether the file carried a `seq` at all: a hand-written file starts a new log.
    pub has_seq: bool,
    /// Fields this program does not use, kept as they are (a teacher's notes, say).
    pub extra: Map<String, Value>,
}

impl Stock {
    /// What a data file that does not exist yet starts from: no tickets, no history.
    pub fn new_file() -> Stock {
        Stock {
            has_seq: false,
            ..Stock::at(0, 0)
        }
    }

    /// A stock as grab-tickets writes it, with no extra fields.
    pub fn at(ticket_num: u64, seq: u64) -> Stock {
        Stock {
            ticket_num,
            seq,
            has_seq: true,
            extra: Map::new(),
        }
    }

    fn to_json(&self) -> Vec<u8> {
        let mut map = Map::new();
        map.insert("ticket_num".into(), Value::from(self.ticket_num));
        map.insert("seq".into(), Value::from(self.seq));
        for (key, value) in &self.extra {
            map.insert(key.clone(), value.clone());
        }
        let mut bytes = serde_json::to_vec(&Value::Object(map)).expect("a JSON map serializes");
        bytes.push(b'\n');
        bytes
    }
}

/// Reads and validates the data file. Every failure names the path and says how to fix it.
pub fn read(path: &Path) -> Result<Stock> {
    let bytes = read_bytes(path)?;
    parse(path, &bytes)
}

/// The error for a data file that is not there, with a fix that works from here.
pub fn missing(path: &Path) -> Error {
    let mkdir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => {
            format!("mkdir -p {} && ", dir.display())
        }
        _ => String::new(),
    };
    Error::bad_data(format!(
        "data file {} does not exist; run without --keep-stock to create it with --tickets N, \
         or create it with: {mkdir}echo '{{\"ticket_num\": 3}}' > {}",
        shown(path),
        path.display()
    ))
}

/// Whether nothing at all is at `path` (not even a dangling link).
pub fn is_missing(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_err_and(|e| e.kind() == io::ErrorKind::NotFound)
}

/// Reads the raw bytes of the data file.
fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(missing(path)),
        Err(e) => return Err(Error::io("open data file", path, &e)),
    };
    // No fstat: this runs once per purchase, so a directory is recognised by read's EISDIR
    // and the size limit by counting what arrives. A read that does not fill the buffer has
    // reached the end of a regular file, which saves the second read read_to_end would make.
    let mut bytes = vec![0u8; 4096];
    let mut filled = 0;
    loop {
        match file.read(&mut bytes[filled..]) {
            Ok(0) => break,
            Ok(n) => {
                filled += n;
                if filled as u64 > MAX_DATA_BYTES {
                    return Err(Error::bad_data(format!(
                        "data file {} is larger than a ticket counter needs (at most \
                         {MAX_DATA_BYTES} bytes); is --data pointing at the right file?",
                        path.display(),
                    )));
                }
                if filled < bytes.len() {
                    break;
                }
                bytes.resize(bytes.len() * 2, 0);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.raw_os_error() == Some(libc::EISDIR) => {
                return Err(Error::bad_data(format!(
                    "data path {} is a directory; point --data at a JSON file, e.g. --data {}",
                    path.display(),
                    path.join("data.json").display()
                )));
            }
            Err(e) => return Err(Error::io("read data file", path, &e)),
        }
    }
    bytes.truncate(filled);
    Ok(bytes)
}

fn parse(path: &Path, bytes: &[u8]) -> Result<Stock> {
    let shape = r#"it must hold a JSON object like {"ticket_num": 3}"#;
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        Error::bad_data(format!(
            "failed to parse data file {}: {e}; {shape}",
            path.display()
        ))
    })?;
    let Value::Object(mut map) = value else {
        return Err(Error::bad_data(format!(
            "data file {} is not a JSON object; {shape}",
            path.display()
        )));
    };
    let ticket_num = match map.remove("ticket_num") {
        None => {
            return Err(Error::bad_data(format!(
                "data file {} has no \"ticket_num\" field; {shape}",
                path.display()
            )));
        }
        Some(value) => count_field(path, "ticket_num", &value, MAX_TICKETS)?,
    };
    let (seq, has_seq) = match map.remove("seq") {
        None => (0, false),
        Some(value) => (count_field(path, "seq", &value, MAX_SEQ)?, true),
    };
    Ok(Stock {
        ticket_num,
        seq,
        has_seq,
        extra: map,
    })
}

fn count_field(path: &Path, name: &str, value: &Value, max: u64) -> Result<u64> {
    let problem = match value {
        Value::Number(n) => match n.as_u64() {
            Some(v) if v <= max => return Ok(v),
            Some(_) => format!("is {n}, more than the maximum of {max}"),
            None if n.as_i64().is_some() => format!("is {n}, but it cannot be negative"),
            // Integers beyond u64 arrive as floats.
            None if n
                .as_f64()
                .is_some_and(|f| f.fract() == 0.0 && f > max as f64) =>
            {
                format!("is {n}, more than the maximum of {max}")
            }
            None => format!("is {n}, but it must be a whole number"),
        },
        other => format!("is {other}, but it must be a whole number"),
    };
    Err(Error::bad_data(format!(
        "\"{name}\" in data file {} {problem}; set it to a whole number from 0 to {max}",
        path.display()
    )))
}

/// Replaces the data file with `stock`, atomically for every reader: the new document is
/// written to a temp file in the same directory, then swapped in.
pub fn write(path: &Path, stock: &Stock) -> Result<()> {
    stage(path, stock)?.swap_in()
}

/// A complete new data file, written beside the old one and not yet visible.
#[must_use = "a staged file changes nothing until swap_in"]
pub struct Staged<'a> {
    temp: PathBuf,
    path: &'a Path,
}

/// First half of [`write`]: writes the temp file. Split out so fault injection can kill a
/// buyer between the two halves.
pub fn stage<'a>(path: &'a Path, stock: &Stock) -> Result<Staged<'a>> {
    let temp = temp_path_for(path);
    if let Err(e) = write_temp(&temp, &stock.to_json()) {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    Ok(Staged { temp, path })
}

impl Staged<'_> {
    /// Second half of [`write`]: makes the new file the data file.
    pub fn swap_in(self) -> Result<()> {
        if let Err(e) = swap_names(&self.temp, self.path) {
            let _ = fs::remove_file(&self.temp);
            return Err(e);
        }
        Ok(())
    }
}

/// Per-process temp name, so that racing writers (the --no-lock mode) never share one.
fn temp_path_for(path: &Path) -> PathBuf {
    // getpid is a syscall each time and this runs once per purchase.
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    temp_path_for_pid(path, *PID.get_or_init(std::process::id))
}

/// The temp file a process with `pid` writes before swapping it in.
pub fn temp_path_for_pid(path: &Path, pid: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{pid}.tmp"));
    PathBuf::from(name)
}

fn write_temp(temp: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(temp)
        .map_err(|e| Error::io("create temp file", temp, &e))?;
    file.write_all(bytes)
        .map_err(|e| Error::io("write temp file", temp, &e))?;
    Ok(())
}

/// Swaps the temp file in. `renameat2(RENAME_EXCHANGE)` trades the two names atomically, then
/// the old document (now under the temp name) is unlinked. On ext4 this is about 4× cheaper
/// than a plain rename over the old file, which makes ext4 start writeback of the new file
/// (auto_da_alloc). Where exchange is unsupported we fall back to rename, which is as atomic.
fn swap_names(temp: &Path, path: &Path) -> Result<()> {
    match exchange(temp, path) {
        Ok(()) => {
            // The new document is in place; a leftover old copy is only litter (the
            // launcher removes a killed buyer's), never worth failing a sale over.
            let _ = fs::remove_file(temp);
            return Ok(());
        }
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EINVAL)
                    | Some(libc::ENOSYS)
                    | Some(libc::EOPNOTSUPP)
                    | Some(libc::ENOENT)
            ) => {}
        Err(e) => return Err(Error::io("replace data file", path, &e)),
    }
    fs::rename(temp, path).map_err(|e| Error::io("replace data file", path, &e))
}

fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(io::Error::from)
}

/// fsync the directory holding `path`, so a rename in it survives a power cut.
pub fn sync_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("fsync directory", dir, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Stock> {
        parse(Path::new("d.json"), text.as_bytes())
    }

    #[test]
    fn parses_the_lesson_format_and_keeps_unknown_fields() {
        let stock = parse_str(r#"{"ticket_num": 3, "show": "Hamlet"}"#).unwrap();
        assert_eq!(stock.ticket_num, 3);
        assert!(!stock.has_seq);
        let back = String::from_utf8(stock.to_json()).unwrap();
        assert_eq!(back, "{\"ticket_num\":3,\"seq\":0,\"show\":\"Hamlet\"}\n");
    }

    #[test]
    fn rejects_bad_counts_with_the_reason() {
        let cases = [
            (r#"{"ticket_num": -1}"#, "cannot be negative"),
            (r#"{"ticket_num": 1.5}"#, "whole number"),
            (r#"{"ticket_num": "3"}"#, "whole number"),
            (r#"{"ticket_num": 99999999999999}"#, "more than the maximum"),
            (r#"{"tickets": 3}"#, "no \"ticket_num\""),
            (r#"[3]"#, "not a JSON object"),
            (r#"{"ticket_num": 3"#, "line 1 column"),
        ];
        for (text, expected) in cases {
            let message = parse_str(text).unwrap_err().to_string();
            assert!(message.contains(expected), "{text}: {message}");
            assert!(message.contains("d.json"), "{message}");
        }
    }
}
