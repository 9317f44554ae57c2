//! Reads and replaces `data.json`. A write never changes the file in place: a complete new
//! file is written beside it, under a name nobody can predict, and swapped in, so every reader
//! sees a whole document (what the document says is `document`'s). Knows no locking; callers
//! decide when it is safe to write. Nothing here fsyncs the data file: the order log is the
//! durable record, and recovery rebuilds the data file from it.

use crate::safe_text::OneLine;
use std::cell::RefCell;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::directory::DataDir;
use super::document::{self, Stock};
use crate::exit::{Error, Result, shown};
use crate::lang::tr;
use crate::shell_word::pasted;
use crate::sys::record::{self, Op};
use crate::sys::{self, Kind};

/// A data file larger than this is not a ticket counter; refuse rather than read it all.
pub(crate) const MAX_DATA_BYTES: u64 = 64 * 1024;
/// Fresh temp names tried when each one drawn is already taken, before giving up.
const TEMP_ATTEMPTS: usize = 16;

/// The data file of a run, in its directory, opened once per process.
pub(crate) struct DataFile {
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
    pub(crate) fn open(path: &Path) -> Result<DataFile> {
        let (dir, name) = DataDir::open(path)?;
        let name = name.to_os_string();
        Ok(DataFile {
            temp: RefCell::new(fresh_temp_name(&name)),
            dir,
            name,
            path: path.to_path_buf(),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn dir(&self) -> &DataDir {
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
    name.push(format!(".{}.{:016x}.tmp", own_pid(), unpredictable_u64()));
    name
}

/// 64 bits nobody can guess in advance: std's SipHash keys come from the OS's random source
/// (one getrandom(2) per process) and this hashes a fresh counter with them. rand's thread
/// generator cost each buyer process a ChaCha set-up, CPUID probes and, in a static binary,
/// opening /dev/random and /dev/urandom.
fn unpredictable_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static DRAWN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut hasher = std::hash::RandomState::new().build_hasher();
    hasher.write_u64(DRAWN.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    hasher.finish()
}

/// Reads and validates the data file. Every failure names the path and says how to fix it.
pub(crate) fn read(data: &DataFile) -> Result<Stock> {
    let bytes = read_bytes(data)?;
    document::parse(&data.path, bytes)
}

/// The error for a data file that is not there, with a fix that works from here.
pub(crate) fn missing(path: &Path) -> Error {
    let mkdir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => {
            format!("mkdir -p {} && ", pasted(dir))
        }
        _ => String::new(),
    };
    Error::bad_data(tr!(
        "error-data-missing",
        shown = shown(path),
        command = format!("{mkdir}echo '{{\"ticket_num\": 3}}' > {}", pasted(path))
    ))
}

/// The error for a data file deleted while a run raced: the stock cannot be read back, and
/// the order log still holds every sale, so the fix is a new run, not `--keep-stock`.
pub(crate) fn deleted_during_race(path: &Path, log: &Path) -> Error {
    Error::bad_data(tr!(
        "error-data-deleted-during-race",
        shown = shown(path),
        log = shown(log)
    ))
}

/// Whether nothing at all is at `path` (not even a dangling link).
pub(crate) fn is_missing(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_err_and(|e| e.kind() == io::ErrorKind::NotFound)
}

/// Reads the raw bytes of the data file. Never follows a link and never waits: a FIFO or a
/// device put in its place mid-run is read as what it gives at once, then refused as not JSON.
pub(crate) fn read_bytes(data: &DataFile) -> Result<Vec<u8>> {
    let path = &data.path;
    let mut file = match data.dir.handle().open_read(&data.name) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(missing(path)),
        Err(e) if sys::is_refused_link(&e) => {
            return Err(crate::shop::directory::became_link(path));
        }
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
                    return Err(Error::bad_data(tr!(
                        "error-data-too-large-to-read",
                        path = path.one_line(),
                        max = MAX_DATA_BYTES
                    )));
                }
                if filled < bytes.len() {
                    break;
                }
                bytes.resize(bytes.len() * 2, 0);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::IsADirectory => {
                return Err(crate::shop::directory::is_directory(path));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(Error::io("read data file", path, &e)),
        }
    }
    bytes.truncate(filled);
    Ok(bytes)
}

/// Replaces the data file with `stock`, atomically for every reader: the new document is
/// written to a temp file in the same directory, then swapped in.
pub(crate) fn write(data: &DataFile, stock: &Stock) -> Result<()> {
    stage(data, stock)?.swap_in()
}

/// A complete new data file, written beside the old one and not yet visible.
#[must_use = "a staged file changes nothing until swap_in"]
pub(crate) struct Staged<'a> {
    data: &'a DataFile,
}

/// First half of [`write`]: writes the temp file. Split out so fault injection can kill a
/// buyer between the two halves.
pub(crate) fn stage<'a>(data: &'a DataFile, stock: &Stock) -> Result<Staged<'a>> {
    let bytes = stock.to_json();
    // Never write what every reader would refuse (the launcher's check makes this rare).
    if bytes.len() as u64 > MAX_DATA_BYTES {
        return Err(too_large(data.path(), bytes.len()));
    }
    let mut file = create_temp(data)?;
    let temp = data.temp.borrow();
    if let Err(e) = file.write_all(&bytes) {
        let _ = data.dir.handle().unlink(&temp);
        return Err(Error::io("write temp file", &data.temp_path(&temp), &e));
    }
    record::note(|| Op::Write {
        name: record::name(&temp),
        offset: 0,
        bytes: record::hex(&bytes),
    });
    Ok(Staged { data })
}

/// The refusal of a document that would pass the size limit once written.
pub(crate) fn too_large(path: &Path, len: usize) -> Error {
    Error::bad_data(tr!(
        "error-data-would-grow-too-large",
        path = path.one_line(),
        len = len,
        max = MAX_DATA_BYTES,
        spare = (len as u64).saturating_sub(MAX_DATA_BYTES)
    ))
}

/// Creates this process's temp file, as a new file of its own (`O_CREAT | O_EXCL |
/// O_NOFOLLOW`). If anything already has the name (a planted link, a stray file), it is left
/// alone, never opened, and another name is drawn.
fn create_temp(data: &DataFile) -> Result<File> {
    let mut temp = data.temp.borrow_mut();
    for _ in 0..TEMP_ATTEMPTS {
        match data.dir.create_new(&temp) {
            Ok(file) => return Ok(file),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                *temp = fresh_temp_name(&data.name);
            }
            Err(e) => return Err(Error::io("create temp file", &data.temp_path(&temp), &e)),
        }
    }
    Err(Error::environment(tr!(
        "error-temp-names-taken",
        path = data.path().one_line(),
        attempts = TEMP_ATTEMPTS
    )))
}

impl Staged<'_> {
    /// Gives up on the staged file: it was never part of the data, so it goes.
    pub(crate) fn discard(self) {
        let temp = self.data.temp.borrow();
        let _ = self.data.dir.handle().unlink(&temp);
    }

    /// Second half of [`write`]: makes the new file the data file. Names are relative to the
    /// directory opened at the start, so the swap happens in that directory whatever is
    /// renamed above it, and it only ever swaps in the temp file this process created: the
    /// name is ours from `O_EXCL` on, and whoever could rename it away (the directory's owner,
    /// or anyone in a directory without the sticky bit) could replace the data file directly.
    pub(crate) fn swap_in(self) -> Result<()> {
        let data = self.data;
        let temp = data.temp.borrow();
        if let Err(e) = swap_names(data, &temp) {
            let _ = data.dir.handle().unlink(&temp);
            return Err(e);
        }
        Ok(())
    }
}

/// Swaps the temp file in, atomically for every reader (how each platform does it, and what
/// it costs, is `sys::Dir::replace`'s).
fn swap_names(data: &DataFile, temp: &OsStr) -> Result<()> {
    data.dir
        .handle()
        .replace(temp, &data.name)
        .map_err(|e| Error::io("replace data file", &data.path, &e))
}

/// A buyer killed between writing its temp file and swapping it in leaves the temp file
/// behind. Removes those of the buyers whose pids are `pids`: names of the form
/// `<data>.<pid>.<16 hex digits>.tmp`, and only regular files of our own (an unlink never
/// follows a link, and someone else's file is not ours to remove).
pub(crate) fn remove_temp_files_of(data: &Path, pids: &[u32]) {
    if pids.is_empty() {
        return;
    }
    let Ok(dir) = DataFile::open(data) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(dir.dir.path()) else {
        return;
    };
    let me = sys::my_uid();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !pids
            .iter()
            .any(|&pid| is_temp_name_of(&dir.name, pid, &name))
        {
            continue;
        }
        let handle = dir.dir.handle();
        let ours = handle
            .stat(&name)
            .is_ok_and(|e| e.is_some_and(|e| e.kind == Kind::Regular && e.owner == me));
        if ours {
            let _ = handle.unlink(&name);
        }
    }
}

/// Whether `name` is a temp name [`fresh_temp_name`] makes for `data_name` in process `pid`.
fn is_temp_name_of(data_name: &OsStr, pid: u32, name: &OsStr) -> bool {
    let mut prefix = data_name.to_os_string();
    prefix.push(format!(".{pid}."));
    let rest = name
        .as_encoded_bytes()
        .strip_prefix(prefix.as_encoded_bytes());
    let random = rest.and_then(|r| r.strip_suffix(b".tmp"));
    random.is_some_and(|r| r.len() == 16 && r.iter().all(u8::is_ascii_hexdigit))
}

/// fsync the data file's directory, so a name created or renamed in it survives a power cut.
pub(crate) fn sync_dir(data: &DataFile) -> Result<()> {
    data.dir.sync()
}

#[cfg(test)]
mod tests {
    use super::*;

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
