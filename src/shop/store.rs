//! Reads and writes `data.json`. A write never changes the file in place: a complete new
//! file is written beside it, under a name nobody can predict, and swapped in, so every reader
//! sees a whole document. A write changes the two numbers it owns and keeps every other byte
//! as the user wrote it. Knows no locking; callers decide when it is safe to write. Nothing
//! here fsyncs the data file: the order log is the durable record, and recovery rebuilds the
//! data file from it.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::ops::Range;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, RenameFlags};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::directory::DataDir;
use crate::exit::{Error, Result, shown};
use crate::settings::MAX_TICKETS;

/// A data file larger than this is not a ticket counter; refuse rather than read it all.
const MAX_DATA_BYTES: u64 = 64 * 1024;
/// Largest `seq` accepted: half of u64, so `seq + 1` for the next order can never overflow,
/// however many changes a long-lived file has seen (2^63 is out of reach of any real run).
const MAX_SEQ: u64 = u64::MAX / 2;
/// Fresh temp names tried when each one drawn is already taken, before giving up.
const TEMP_ATTEMPTS: usize = 16;

/// The contents of the data file.
#[derive(Debug, Clone, PartialEq)]
pub struct Stock {
    pub ticket_num: u64,
    /// Number of the last change recorded in the order log (0 for a hand-written file).
    pub seq: u64,
    /// Whether the file carried a `seq` at all: a hand-written file starts a new log.
    pub has_seq: bool,
    /// The file as it was read, so a write keeps everything but the two numbers (a teacher's
    /// notes, the field order, the spacing, numbers no float can hold). `None` for a stock
    /// rebuilt from the order log alone.
    pub(crate) document: Option<Arc<Document>>,
}

/// A data file's bytes, and where in them the two numbers this program owns are.
#[derive(Debug, PartialEq)]
pub(crate) struct Document {
    bytes: Vec<u8>,
    ticket_num: Range<usize>,
    seq: SeqPlace,
}

#[derive(Debug, PartialEq)]
enum SeqPlace {
    /// The value's bytes.
    At(Range<usize>),
    /// A hand-written file has none: `"seq"` goes right after `ticket_num`'s value, written
    /// as `prefix` (a comma and the file's own spacing) plus the number.
    After { at: usize, prefix: String },
}

impl Stock {
    /// What a data file that does not exist yet starts from: no tickets, no history.
    pub fn new_file() -> Stock {
        Stock {
            has_seq: false,
            ..Stock::at(0, 0)
        }
    }

    /// A stock as grab-tickets writes it, with no other fields.
    pub fn at(ticket_num: u64, seq: u64) -> Stock {
        Stock {
            ticket_num,
            seq,
            has_seq: true,
            document: None,
        }
    }

    fn to_json(&self) -> Vec<u8> {
        let (ticket_num, seq) = (self.ticket_num.to_string(), self.seq.to_string());
        let Some(doc) = &self.document else {
            return format!("{{\"ticket_num\":{ticket_num},\"seq\":{seq}}}\n").into_bytes();
        };
        let mut edits = [
            (doc.ticket_num.clone(), ticket_num),
            match &doc.seq {
                SeqPlace::At(range) => (range.clone(), seq),
                SeqPlace::After { at, prefix } => (*at..*at, format!("{prefix}{seq}")),
            },
        ];
        edits.sort_by_key(|(range, _)| range.start);
        let mut out = Vec::with_capacity(doc.bytes.len() + 24);
        let mut from = 0;
        for (range, text) in edits {
            out.extend_from_slice(&doc.bytes[from..range.start]);
            out.extend_from_slice(text.as_bytes());
            from = range.end;
        }
        out.extend_from_slice(&doc.bytes[from..]);
        out
    }
}

/// The data file of a run, in its directory, opened once per process.
pub struct DataFile {
    dir: DataDir,
    name: OsString,
    path: PathBuf,
    /// This process's temp file name. Drawn at random, so nobody can plant anything under it
    /// in advance; a new one is drawn whenever the name turns out to be taken.
    temp: RefCell<OsString>,
}

impl DataFile {
    /// Opens the directory of `path`, a data path already resolved by
    /// [`resolve_data_path`](super::directory::resolve_data_path): from here on no link is
    /// followed. The data file itself may not exist yet.
    pub fn open(path: &Path) -> Result<DataFile> {
        let (dir, name) = DataDir::open(path)?;
        let name = name.to_os_string();
        Ok(DataFile {
            temp: RefCell::new(fresh_temp_name(&name)),
            dir,
            name,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn display(&self) -> std::path::Display<'_> {
        self.path.display()
    }

    pub fn dir(&self) -> &DataDir {
        &self.dir
    }

    /// The path of the temp file named `temp`, for messages.
    fn temp_path(&self, temp: &OsStr) -> PathBuf {
        self.path.with_file_name(temp)
    }
}

impl fmt::Debug for DataFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataFile({})", self.path.display())
    }
}

/// This process's pid; getpid is a syscall, and temp names need it.
fn own_pid() -> u32 {
    static PID: OnceLock<u32> = OnceLock::new();
    *PID.get_or_init(std::process::id)
}

/// `data.json.<pid>.<16 random hex digits>.tmp`: the pid lets the launcher find what a killed
/// buyer left (see [`remove_temp_files_of`]); the random part makes the name impossible to
/// plant in advance.
fn fresh_temp_name(data_name: &OsStr) -> OsString {
    let mut name = data_name.to_os_string();
    name.push(format!(".{}.{:016x}.tmp", own_pid(), rand::random::<u64>()));
    name
}

/// Reads and validates the data file. Every failure names the path and says how to fix it.
pub fn read(data: &DataFile) -> Result<Stock> {
    let bytes = read_bytes(data)?;
    parse(&data.path, bytes)
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

/// Reads the raw bytes of the data file. Never follows a link and never waits: a FIFO or a
/// device put in its place mid-run is read as what it gives at once, then refused as not JSON.
pub fn read_bytes(data: &DataFile) -> Result<Vec<u8>> {
    let path = &data.path;
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let mut file = match rustix::fs::openat(data.dir.fd(), &data.name, flags, Mode::empty()) {
        Ok(fd) => File::from(fd),
        Err(rustix::io::Errno::NOENT) => return Err(missing(path)),
        Err(rustix::io::Errno::LOOP) => {
            return Err(Error::environment(format!(
                "data file {} became a symbolic link after the run resolved it; something is \
                 changing this directory under the run",
                path.display()
            )));
        }
        Err(e) => return Err(Error::io("open data file", path, &e.into())),
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
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(Error::io("read data file", path, &e)),
        }
    }
    bytes.truncate(filled);
    Ok(bytes)
}

/// One top-level field as written: its key, where the key's text starts (when it has no
/// escapes, so it lies in the file as is) and its value's exact text.
struct Field<'a> {
    key: Cow<'a, str>,
    key_at: Option<usize>,
    value: &'a RawValue,
}

/// The top-level object's fields, in order, duplicates included (they are refused later,
/// by name).
struct Fields<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(
                self,
                mut map: M,
            ) -> std::result::Result<Self::Value, M::Error> {
                let mut fields = Vec::new();
                while let Some(Key(key)) = map.next_key()? {
                    fields.push((key, map.next_value()?));
                }
                Ok(Fields(fields))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// A key, borrowed from the file when it can be (so its place in the file is known).
#[derive(serde::Deserialize)]
struct Key<'a>(#[serde(borrow)] Cow<'a, str>);

fn parse(path: &Path, bytes: Vec<u8>) -> Result<Stock> {
    let shape = r#"it must hold a JSON object like {"ticket_num": 3}"#;
    let fields: Vec<Field> = match serde_json::from_slice::<Fields>(&bytes) {
        Ok(Fields(fields)) => fields
            .into_iter()
            .map(|(key, value)| Field {
                key_at: match &key {
                    Cow::Borrowed(text) => Some(offset_in(&bytes, text)),
                    Cow::Owned(_) => None,
                },
                key,
                value,
            })
            .collect(),
        Err(e) if e.classify() == serde_json::error::Category::Data => {
            return Err(Error::bad_data(format!(
                "data file {} is not a JSON object; {shape}",
                path.display()
            )));
        }
        Err(e) => {
            return Err(Error::bad_data(format!(
                "failed to parse data file {}: {e}; {shape}",
                path.display()
            )));
        }
    };
    let mut seen = HashSet::with_capacity(fields.len());
    for field in &fields {
        if !seen.insert(field.key.as_ref()) {
            return Err(Error::bad_data(format!(
                "data file {} has the key \"{}\" more than once; which one counts is \
                 ambiguous (programs disagree), so grab-tickets will not guess; keep one of them",
                path.display(),
                field.key
            )));
        }
    }
    let Some(ticket) = fields.iter().find(|f| f.key == "ticket_num") else {
        return Err(Error::bad_data(format!(
            "data file {} has no \"ticket_num\" field; {shape}",
            path.display()
        )));
    };
    let ticket_num = count_field(path, "ticket_num", ticket.value.get(), MAX_TICKETS)?;
    let ticket_range = value_range(&bytes, ticket.value);
    let (seq, seq_place) = match fields.iter().find(|f| f.key == "seq") {
        Some(field) => (
            Some(count_field(path, "seq", field.value.get(), MAX_SEQ)?),
            SeqPlace::At(value_range(&bytes, field.value)),
        ),
        None => (
            None,
            SeqPlace::After {
                at: ticket_range.end,
                prefix: seq_prefix(&bytes, ticket, ticket_range.start),
            },
        ),
    };
    drop(fields);
    Ok(Stock {
        ticket_num,
        seq: seq.unwrap_or(0),
        has_seq: seq.is_some(),
        document: Some(Arc::new(Document {
            bytes,
            ticket_num: ticket_range,
            seq: seq_place,
        })),
    })
}

/// Where `text`, a slice of `bytes`, starts in it.
fn offset_in(bytes: &[u8], text: &str) -> usize {
    text.as_ptr() as usize - bytes.as_ptr() as usize
}

fn value_range(bytes: &[u8], value: &RawValue) -> Range<usize> {
    let start = offset_in(bytes, value.get());
    start..start + value.get().len()
}

/// How `"seq"` is written into a file that has none, in the file's own style: after a comma,
/// on a new line with the same indent if `ticket_num` has its own line, and with the same
/// spacing around the colon.
fn seq_prefix(bytes: &[u8], ticket: &Field, value_start: usize) -> String {
    let Some(key_text) = ticket.key_at else {
        return ", \"seq\": ".to_string();
    };
    let key_start = key_text - 1; // the opening quote
    let key_end = key_text + ticket.key.len() + 1;
    let indent_from = bytes[..key_start]
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let indent = String::from_utf8_lossy(&bytes[indent_from..key_start]);
    let colon = String::from_utf8_lossy(&bytes[key_end..value_start]);
    let space = if indent.contains('\n') {
        indent.as_ref()
    } else if colon.contains(' ') {
        " "
    } else {
        ""
    };
    format!(",{space}\"seq\"{colon}")
}

/// A count field's value from its exact text: a whole number from 0 to `max`.
fn count_field(path: &Path, name: &str, text: &str, max: u64) -> Result<u64> {
    let number = text.starts_with(|c: char| c == '-' || c.is_ascii_digit());
    let problem = if !number || text.contains(['.', 'e', 'E']) {
        let shown: String = text.chars().take(40).collect();
        let more = if shown.len() < text.len() { "..." } else { "" };
        format!("is {shown}{more}, but it must be a whole number")
    } else if text.starts_with('-') {
        format!("is {text}, but it cannot be negative")
    } else {
        match text.parse::<u64>() {
            Ok(v) if v <= max => return Ok(v),
            _ => format!("is {text}, more than the maximum of {max}"),
        }
    };
    Err(Error::bad_data(format!(
        "\"{name}\" in data file {} {problem}; set it to a whole number from 0 to {max}",
        path.display()
    )))
}

/// Replaces the data file with `stock`, atomically for every reader: the new document is
/// written to a temp file in the same directory, then swapped in.
pub fn write(data: &DataFile, stock: &Stock) -> Result<()> {
    stage(data, stock)?.swap_in()
}

/// A complete new data file, written beside the old one and not yet visible.
#[must_use = "a staged file changes nothing until swap_in"]
pub struct Staged<'a> {
    data: &'a DataFile,
}

/// First half of [`write`]: writes the temp file. Split out so fault injection can kill a
/// buyer between the two halves.
pub fn stage<'a>(data: &'a DataFile, stock: &Stock) -> Result<Staged<'a>> {
    let mut file = create_temp(data)?;
    let temp = data.temp.borrow();
    if let Err(e) = file.write_all(&stock.to_json()) {
        let _ = rustix::fs::unlinkat(data.dir.fd(), &*temp, AtFlags::empty());
        return Err(Error::io("write temp file", &data.temp_path(&temp), &e));
    }
    Ok(Staged { data })
}

/// Creates this process's temp file, as a new file of its own (`O_CREAT | O_EXCL |
/// O_NOFOLLOW`). If anything already has the name (a planted link, a stray file), it is left
/// alone, never opened, and another name is drawn.
fn create_temp(data: &DataFile) -> Result<File> {
    let mut temp = data.temp.borrow_mut();
    for _ in 0..TEMP_ATTEMPTS {
        match data.dir.create_new(&temp, OFlags::WRONLY) {
            Ok(fd) => return Ok(File::from(fd)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                *temp = fresh_temp_name(&data.name);
            }
            Err(e) => return Err(Error::io("create temp file", &data.temp_path(&temp), &e)),
        }
    }
    Err(Error::environment(format!(
        "failed to create a temp file beside {}: {TEMP_ATTEMPTS} random names in a row were \
         taken; something is filling the directory with names",
        data.display()
    )))
}

impl Staged<'_> {
    /// Second half of [`write`]: makes the new file the data file. Names are relative to the
    /// directory opened at the start, so the swap happens in that directory whatever is
    /// renamed above it, and it only ever swaps in the temp file this process created: the
    /// name is ours from `O_EXCL` on, and whoever could rename it away (the directory's owner,
    /// or anyone in a directory without the sticky bit) could replace the data file directly.
    /// Gives up on the staged file: it was never part of the data, so it goes.
    pub fn discard(self) {
        let temp = self.data.temp.borrow();
        let _ = rustix::fs::unlinkat(self.data.dir.fd(), &*temp, AtFlags::empty());
    }

    pub fn swap_in(self) -> Result<()> {
        let data = self.data;
        let temp = data.temp.borrow();
        if let Err(e) = swap_names(data, &temp) {
            let _ = rustix::fs::unlinkat(data.dir.fd(), &*temp, AtFlags::empty());
            return Err(e);
        }
        Ok(())
    }
}

/// Swaps the temp file in. `renameat2(RENAME_EXCHANGE)` trades the two names atomically, then
/// the old document (now under the temp name) is unlinked. On ext4 this is about 4× cheaper
/// than a plain rename over the old file, which makes ext4 start writeback of the new file
/// (auto_da_alloc). Where exchange is unsupported we fall back to rename, which is as atomic.
fn swap_names(data: &DataFile, temp: &OsStr) -> Result<()> {
    let dir = data.dir.fd();
    match rustix::fs::renameat_with(dir, temp, dir, &data.name, RenameFlags::EXCHANGE) {
        Ok(()) => {
            // The new document is in place; a leftover old copy is only litter (the
            // launcher removes a killed buyer's), never worth failing a sale over.
            let _ = rustix::fs::unlinkat(dir, temp, AtFlags::empty());
            return Ok(());
        }
        Err(
            rustix::io::Errno::INVAL
            | rustix::io::Errno::NOSYS
            | rustix::io::Errno::OPNOTSUPP
            | rustix::io::Errno::NOENT,
        ) => {}
        Err(e) => return Err(Error::io("replace data file", &data.path, &e.into())),
    }
    rustix::fs::renameat(dir, temp, dir, &data.name)
        .map_err(|e| Error::io("replace data file", &data.path, &e.into()))
}

/// A buyer killed between writing its temp file and swapping it in leaves the temp file
/// behind. Removes those of the buyers whose pids are `pids`: names of the form
/// `<data>.<pid>.<16 hex digits>.tmp`, and only regular files of our own (an unlink never
/// follows a link, and someone else's file is not ours to remove).
pub fn remove_temp_files_of(data: &Path, pids: &[u32]) {
    if pids.is_empty() {
        return;
    }
    let Ok(dir) = DataFile::open(data) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(dir.dir.path()) else {
        return;
    };
    let me = rustix::process::geteuid().as_raw();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !pids
            .iter()
            .any(|&pid| is_temp_name_of(&dir.name, pid, &name))
        {
            continue;
        }
        let fd = dir.dir.fd();
        let ours = rustix::fs::statat(fd, &name, AtFlags::SYMLINK_NOFOLLOW).is_ok_and(|s| {
            FileType::from_raw_mode(s.st_mode) == FileType::RegularFile && s.st_uid == me
        });
        if ours {
            let _ = rustix::fs::unlinkat(fd, &name, AtFlags::empty());
        }
    }
}

/// Whether `name` is a temp name [`fresh_temp_name`] makes for `data_name` in process `pid`.
fn is_temp_name_of(data_name: &OsStr, pid: u32, name: &OsStr) -> bool {
    let mut prefix = data_name.to_os_string();
    prefix.push(format!(".{pid}."));
    let rest = name.as_bytes().strip_prefix(prefix.as_bytes());
    let random = rest.and_then(|r| r.strip_suffix(b".tmp"));
    random.is_some_and(|r| r.len() == 16 && r.iter().all(u8::is_ascii_hexdigit))
}

/// fsync the data file's directory, so a name created or renamed in it survives a power cut.
pub fn sync_dir(data: &DataFile) -> Result<()> {
    data.dir.sync()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Stock> {
        parse(Path::new("d.json"), text.as_bytes().to_vec())
    }

    fn rewritten(text: &str, ticket_num: u64, seq: u64) -> String {
        let stock = Stock {
            ticket_num,
            seq,
            ..parse_str(text).unwrap()
        };
        String::from_utf8(stock.to_json()).unwrap()
    }

    #[test]
    fn parses_the_lesson_format_and_keeps_unknown_fields() {
        let stock = parse_str(r#"{"ticket_num": 3, "show": "Hamlet"}"#).unwrap();
        assert_eq!(stock.ticket_num, 3);
        assert!(!stock.has_seq);
        assert_eq!(
            String::from_utf8(stock.to_json()).unwrap(),
            r#"{"ticket_num": 3, "seq": 0, "show": "Hamlet"}"#
        );
    }

    #[test]
    fn a_write_changes_the_two_numbers_and_no_other_byte() {
        let text = "{\"show\" : \"Hamlet\",\n \"ticket_num\" : 3 ,\"seq\":7,\n \"id\": 123456789012345678901234567890, \"price\": 1.50}\n";
        assert_eq!(
            rewritten(text, 2, 8),
            "{\"show\" : \"Hamlet\",\n \"ticket_num\" : 2 ,\"seq\":8,\n \"id\": 123456789012345678901234567890, \"price\": 1.50}\n"
        );
    }

    #[test]
    fn a_missing_seq_is_added_in_the_files_own_style() {
        assert_eq!(
            rewritten("{\"ticket_num\":3}", 2, 1),
            "{\"ticket_num\":2,\"seq\":1}"
        );
        assert_eq!(
            rewritten("{\n  \"ticket_num\": 3,\n  \"show\": \"x\"\n}\n", 2, 1),
            "{\n  \"ticket_num\": 2,\n  \"seq\": 1,\n  \"show\": \"x\"\n}\n"
        );
        // An escaped key is not in the file as is; the plain style is used.
        assert_eq!(
            rewritten("{\"ticket\\u005fnum\":3}", 2, 1),
            "{\"ticket\\u005fnum\":2, \"seq\": 1}"
        );
    }

    #[test]
    fn a_stock_rebuilt_from_the_log_is_written_plainly() {
        assert_eq!(
            Stock::at(5, 9).to_json(),
            b"{\"ticket_num\":5,\"seq\":9}\n".to_vec()
        );
    }

    #[test]
    fn rejects_bad_counts_with_the_reason() {
        let cases = [
            (r#"{"ticket_num": -1}"#, "cannot be negative"),
            (r#"{"ticket_num": 1.5}"#, "whole number"),
            (r#"{"ticket_num": 3e0}"#, "whole number"),
            (
                r#"{"ticket_num": "3"}"#,
                "is \"3\", but it must be a whole number",
            ),
            (r#"{"ticket_num": 99999999999999}"#, "more than the maximum"),
            (
                r#"{"ticket_num": 123456789012345678901234567890}"#,
                "is 123456789012345678901234567890, more than",
            ),
            (r#"{"tickets": 3}"#, "no \"ticket_num\""),
            (r#"[3]"#, "not a JSON object"),
            (r#"{"ticket_num": 3"#, "line 1 column"),
            (r#"{"ticket_num": 3} x"#, "trailing characters"),
        ];
        for (text, expected) in cases {
            let message = parse_str(text).unwrap_err().to_string();
            assert!(message.contains(expected), "{text}: {message}");
            assert!(message.contains("d.json"), "{message}");
        }
    }

    #[test]
    fn duplicate_keys_are_refused_as_ambiguous() {
        for text in [
            r#"{"ticket_num":-1,"ticket_num":3}"#,
            r#"{"ticket_num":3,"seq":1,"seq":2}"#,
            r#"{"ticket_num":3,"ticket\u005fnum":2}"#,
            r#"{"ticket_num":3,"note":1,"note":2}"#,
        ] {
            let message = parse_str(text).unwrap_err().to_string();
            assert!(message.contains("more than once"), "{text}: {message}");
        }
    }

    #[test]
    fn temp_names_carry_the_pid_and_are_recognised_only_in_full() {
        let name = fresh_temp_name(OsStr::new("data.json"));
        let pid = own_pid();
        assert!(
            is_temp_name_of(OsStr::new("data.json"), pid, &name),
            "{name:?}"
        );
        assert!(!is_temp_name_of(OsStr::new("data.json"), pid + 1, &name));
        assert_ne!(name, fresh_temp_name(OsStr::new("data.json")));
        for other in [
            format!("data.json.{pid}.tmp"),
            format!("data.json.{pid}.0123456789abcdeg.tmp"),
            format!("data.json.{pid}.0123456789abcdef.tmp.x"),
            format!("other.json.{pid}.0123456789abcdef.tmp"),
        ] {
            assert!(!is_temp_name_of(
                OsStr::new("data.json"),
                pid,
                OsStr::new(&other)
            ));
        }
    }
}
