//! The data file's directory, opened once: every file grab-tickets touches there is named
//! relative to it and never reached through a symbolic link. Owns the rules for a directory
//! other users may share: which data path to trust, and how sidecars and new files are opened.

use crate::safe_text::{OneLine, Outside};
use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::exit::{Error, Result};
use crate::lang::tr;
pub(crate) use crate::sys::FileId;
use crate::sys::{self, Entry, Kind, NewFile, NewPerms, Writes};

/// Linux's own limit on symbolic links followed in one lookup.
const MAX_LINKS: usize = 40;
/// Attempts to open-or-create a sidecar while something keeps deleting and recreating it.
const OPEN_ATTEMPTS: usize = 16;

/// Where the user's `--data` path really is. A symbolic link there is the user's own way to
/// share one data file, so it is followed, once: the launcher hands the result to every buyer,
/// and the lock file and order log live beside the real file. Refuses what is not a data file
/// (a directory, a FIFO, a device, a socket) before anything opens it, and a link planted by
/// another user in a sticky shared directory such as /tmp.
pub(crate) fn resolve_data_path(user: &Path) -> Result<PathBuf> {
    let mut path = user.to_path_buf();
    for hops in 0..MAX_LINKS {
        refuse_directory_syntax(&path)?;
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            // Missing: the checks before the run say how to create it.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(tidy(path, hops)),
            Err(e) => return Err(Error::io("inspect data file", &path, &e)),
        };
        if !meta.file_type().is_symlink() {
            refuse_unless_regular(&path, sys::kind_of(&meta.file_type()))?;
            return Ok(tidy(path, hops));
        }
        refuse_untrusted_link(&path, &meta)?;
        let target =
            std::fs::read_link(&path).map_err(|e| Error::io("read symbolic link", &path, &e))?;
        // A relative target is relative to the link's directory; an absolute one replaces it.
        path = path.parent().unwrap_or(Path::new("")).join(target);
    }
    Err(Error::bad_data(tr!(
        "error-data-path-link-loop",
        path = user.one_line(),
        max = MAX_LINKS
    )))
}

/// A path ending in `/` (or `/.`, `/..`) names a directory whatever is there: were it let
/// through, the file would be created under the name before the slash and the sidecars as
/// `.lock` and `.orders`, shared by every such path in that directory.
fn refuse_directory_syntax(path: &Path) -> Result<()> {
    let bytes = path.as_os_str().as_encoded_bytes();
    let last = bytes.rsplit(|b| *b == b'/').next().unwrap_or_default();
    if bytes.is_empty() || bytes.ends_with(b"/") || last == b"." || last == b".." {
        let typed = path.to_string_lossy();
        let file = typed.trim_end_matches('/');
        // Meant as a directory: a file in it; else the name without the slash.
        let example = match path.is_dir() || file.is_empty() || last != b"" {
            true => format!("{file}/data.json"),
            false => file.to_string(),
        };
        return Err(Error::bad_data(tr!(
            "error-data-path-is-directory-syntax",
            path = path,
            example = Outside(&example)
        )));
    }
    Ok(())
}

/// A path reached through links (`data/../shared/real.json`) is shown as its directory's
/// canonical path plus the name, so messages name the real place; the user's own path, when
/// no link was followed, is kept as typed.
fn tidy(path: PathBuf, hops: usize) -> PathBuf {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return path;
    };
    if hops == 0 {
        return path;
    }
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    match std::fs::canonicalize(dir) {
        Ok(real) => real.join(name),
        Err(_) => path,
    }
}

/// The kernel's `fs.protected_symlinks` rule, applied whatever the sysctl says: in a sticky
/// world-writable directory, a link is followed only if it belongs to us or to the directory's
/// owner. Anyone may create names there, so a stranger's link may point anywhere we can write.
/// (Windows has no sticky directories and no such owners: there the rule has nothing to check,
/// and creating a symbolic link needs a privilege an ordinary user lacks.)
fn refuse_untrusted_link(link: &Path, meta: &std::fs::Metadata) -> Result<()> {
    let dir = link.parent().filter(|p| !p.as_os_str().is_empty());
    let Ok(dir_meta) = std::fs::metadata(dir.unwrap_or(Path::new("."))) else {
        return Ok(());
    };
    let (Some(owner), Some(me)) = (sys::owner_of(meta), sys::my_uid()) else {
        return Ok(());
    };
    if sys::is_shared_sticky(&dir_meta) && owner != me && Some(owner) != sys::owner_of(&dir_meta) {
        return Err(Error::environment(tr!(
            "error-data-path-foreign-link",
            path = link.one_line(),
            owner = owner.to_string()
        )));
    }
    Ok(())
}

/// Only a regular file can be a data file; anything else is named, and refused at once.
fn refuse_unless_regular(path: &Path, kind: Kind) -> Result<()> {
    match kind {
        Kind::Regular => Ok(()),
        Kind::Directory => Err(is_directory(path)),
        other => Err(Error::bad_data(tr!(
            "error-data-path-not-regular",
            path = path.one_line(),
            kind = kind_name(other)
        ))),
    }
}

/// The refusal of a data path that is a directory, with the file it probably meant.
pub(crate) fn is_directory(path: &Path) -> Error {
    Error::bad_data(tr!(
        "error-data-path-is-directory",
        path = path.one_line(),
        example = path.join("data.json").one_line()
    ))
}

/// The refusal of a data file that became a symbolic link after the run resolved it.
pub(crate) fn became_link(path: &Path) -> Error {
    Error::environment(tr!("error-data-became-link", path = path.one_line()))
}

/// The permission bits new files get: the data file's, whatever the umask. Temp files become
/// the data file, and the lock file and log must admit everyone the data file admits (and
/// nobody else: a private data file must not leak through its log).
#[derive(Debug, Clone, Copy)]
struct NewFileMode {
    /// `None` while the data file does not exist: then new files follow the umask.
    bits: Option<u32>,
    /// The umask would narrow `bits`, so each new file is chmodded after it is created.
    umask_narrows: bool,
}

/// An open directory holding a data file.
#[derive(Debug, Clone)]
pub(crate) struct DataDir {
    handle: Arc<sys::Dir>,
    /// The directory as the user named it, for messages.
    path: PathBuf,
    mode: NewFileMode,
}

/// A sidecar opened by [`DataDir::open_sidecar`].
pub(crate) struct Sidecar {
    pub file: File,
    pub id: FileId,
}

impl DataDir {
    /// Opens the directory of `data` (a path [`resolve_data_path`] returned) and learns the
    /// data file's permission bits. Returns the directory and the data file's name in it.
    pub(crate) fn open(data: &Path) -> Result<(DataDir, &OsStr)> {
        let name = data.file_name().ok_or_else(|| {
            Error::bad_data(tr!("error-data-path-no-file", path = data.one_line()))
        })?;
        let path = match data.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let handle = match sys::Dir::open(&path) {
            Ok(handle) => handle,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::bad_data(tr!(
                    "error-data-dir-missing",
                    path = data.one_line(),
                    dir = path.one_line()
                )));
            }
            Err(e) => return Err(Error::io("open directory", &path, &e)),
        };
        let bits = match handle.stat(name) {
            Ok(Some(entry)) => {
                if entry.kind == Kind::Link {
                    return Err(became_link(data));
                }
                refuse_unless_regular(data, entry.kind)?;
                Some(entry.perms.unwrap_or(0o666))
            }
            Ok(None) => None,
            Err(e) => return Err(Error::io("inspect data file", data, &e)),
        };
        let umask_narrows = bits.is_some_and(|bits| bits & sys::current_umask() != 0);
        let dir = DataDir {
            handle: Arc::new(handle),
            path,
            mode: NewFileMode {
                bits,
                umask_narrows,
            },
        };
        Ok((dir, name))
    }

    /// The open directory, for names looked up in it.
    pub(crate) fn handle(&self) -> &sys::Dir {
        &self.handle
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Creates `name` as a new file of our own: `O_CREAT | O_EXCL | O_NOFOLLOW`, so whatever
    /// already has that name (a file, a planted symlink) is an error (`EEXIST`), never
    /// opened. Gets the data file's permission bits.
    pub(crate) fn create_new(&self, name: &OsStr) -> io::Result<File> {
        let perms = NewPerms {
            bits: self.mode.bits.unwrap_or(0o666),
            chmod_after: self.mode.umask_narrows,
        };
        self.handle.create_new(name, NewFile::WriteOnly, perms)
    }

    /// Opens (creating if missing) the sidecar at `path`, a name in this directory, for
    /// reading and writing (`writes`: appended to, for the log). A sidecar is ours to write
    /// into, so it must be a plain file: a symbolic link or a file with a second hard link
    /// would make us write into some other file, which in a shared directory may be anyone's.
    /// `what` names it in errors ("lock file"). A new sidecar gets the data file's bits,
    /// without execute permission.
    pub(crate) fn open_sidecar(&self, path: &Path, what: &str, writes: Writes) -> Result<Sidecar> {
        let name = path
            .file_name()
            .expect("a sidecar path ends in its file name");
        let open_error = |e: io::Error| self.sidecar_error(path, name, what, e);
        let perms = NewPerms {
            bits: self.mode.bits.unwrap_or(0o666) & 0o666,
            chmod_after: self.mode.umask_narrows,
        };
        for _ in 0..OPEN_ATTEMPTS {
            let file = match self.handle.open_sidecar(name, writes) {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    match self
                        .handle
                        .create_new(name, NewFile::Sidecar(writes), perms)
                    {
                        Ok(file) => file,
                        // Someone else created it first: open theirs.
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                        Err(e) => return Err(open_error(e)),
                    }
                }
                Err(e) => return Err(open_error(e)),
            };
            let entry = sys::entry_of(&file).map_err(open_error)?;
            if let Some(refusal) = unsafe_sidecar(what, path, &entry) {
                return Err(refusal);
            }
            sys::settle_sidecar(&file, writes).map_err(open_error)?;
            return Ok(Sidecar { file, id: entry.id });
        }
        Err(Error::environment(tr!(
            "error-sidecar-keeps-vanishing",
            what = sidecar_name(what),
            path = path.one_line()
        )))
    }

    /// Refuses the sidecar at `path` if what is there now could not be opened safely, before
    /// anything is created: a run that will be refused changes nothing. ([`open_sidecar`]
    /// checks the file it opens again.)
    ///
    /// [`open_sidecar`]: DataDir::open_sidecar
    pub(crate) fn check_sidecar(&self, path: &Path, what: &str) -> Result<()> {
        let name = path
            .file_name()
            .expect("a sidecar path ends in its file name");
        match self.handle.stat(name) {
            Ok(Some(entry)) => unsafe_sidecar(what, path, &entry).map_or(Ok(()), Err),
            Ok(None) => Ok(()),
            Err(e) => Err(Error::io(&format!("inspect {what}"), path, &e)),
        }
    }

    /// A clear refusal for each way opening a sidecar can fail.
    fn sidecar_error(&self, path: &Path, name: &OsStr, what: &str, e: io::Error) -> Error {
        if sys::is_refused_link(&e)
            && let Ok(Some(entry)) = self.handle.stat(name)
            && let Some(refusal) = unsafe_sidecar(what, path, &entry)
        {
            return refusal;
        }
        Error::io(&format!("open {what}"), path, &e)
    }

    /// Which file `name` is now, without following a link; `None` if nothing has that name.
    pub(crate) fn id_of(&self, name: &OsStr) -> io::Result<Option<FileId>> {
        Ok(self.handle.stat(name)?.map(|entry| entry.id))
    }

    /// fsyncs the directory, so a name created or renamed in it survives a power cut.
    pub(crate) fn sync(&self) -> Result<()> {
        self.handle
            .sync()
            .map_err(|e| Error::io("fsync directory", &self.path, &e))
    }
}

/// Why the sidecar `entry` describes must not be written, if it must not: each refusal names
/// the file, what is wrong with it, and the fix.
fn unsafe_sidecar(what: &str, path: &Path, entry: &Entry) -> Option<Error> {
    if entry.kind == Kind::Regular && entry.links <= 1 {
        // The usual case, said first: every buyer checks both sidecars, and naming one
        // parses the whole catalog (~400 KB of heap per process, docs/performance.md).
        return None;
    }
    let shown = path.one_line();
    let what = sidecar_name(what);
    let problem = match entry.kind {
        Kind::Link => tr!("error-sidecar-is-link", what = &what, path = shown),
        Kind::Regular if entry.links > 1 => tr!(
            "error-sidecar-hard-links",
            what = what,
            path = shown,
            links = entry.links
        ),
        Kind::Regular => return None,
        kind => tr!(
            "error-sidecar-not-regular",
            what = what,
            path = shown,
            kind = kind_name(kind)
        ),
    };
    Some(Error::environment(problem))
}

fn kind_name(kind: Kind) -> String {
    let kind = match kind {
        Kind::Directory => "directory",
        Kind::Fifo => "fifo",
        Kind::Socket => "socket",
        Kind::Device => "device",
        Kind::Link => "link",
        Kind::Regular | Kind::Unknown => "unknown",
    };
    tr!("file-kind", kind = kind)
}

/// A sidecar's name in the chosen language; `what` is its English name, as the callers and
/// the `io-` action keys spell it ("lock file", "order log").
fn sidecar_name(what: &str) -> String {
    match what {
        "lock file" => tr!("sidecar", what = "lock"),
        _ => tr!("sidecar", what = "log"),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn a_chain_of_relative_links_resolves_to_the_real_file_in_its_real_directory() {
        let dir = tempfile::tempdir().unwrap();
        let real_dir = dir.path().join("shared");
        std::fs::create_dir(&real_dir).unwrap();
        std::fs::write(real_dir.join("real.json"), "{}").unwrap();
        symlink("shared/real.json", dir.path().join("b.json")).unwrap();
        symlink("b.json", dir.path().join("a.json")).unwrap();
        let resolved = resolve_data_path(&dir.path().join("a.json")).unwrap();
        let expected = std::fs::canonicalize(&real_dir).unwrap().join("real.json");
        assert_eq!(resolved, expected);
        // No link followed: the path stays as the user typed it.
        let plain = dir.path().join("shared/../shared/real.json");
        assert_eq!(resolve_data_path(&plain).unwrap(), plain);
    }

    #[test]
    fn a_link_loop_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        symlink("b.json", dir.path().join("a.json")).unwrap();
        symlink("a.json", dir.path().join("b.json")).unwrap();
        let message = resolve_data_path(&dir.path().join("a.json"))
            .unwrap_err()
            .to_string();
        assert!(message.contains("more than 40 symbolic links"), "{message}");
    }
}
