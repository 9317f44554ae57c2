//! The data file's directory, opened once: every file grab-tickets touches there is named
//! relative to it and never reached through a symbolic link. Owns the rules for a directory
//! other users may share: which data path to trust, and how sidecars and new files are opened.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, Stat};

use crate::exit::{Error, Result};
use crate::lang::tr;

/// Linux's own limit on symbolic links followed in one lookup.
const MAX_LINKS: usize = 40;
/// Attempts to open-or-create a sidecar while something keeps deleting and recreating it.
const OPEN_ATTEMPTS: usize = 16;

/// Which file this is: the device and inode number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    // st_dev and st_ino are u64 here but narrower on some targets.
    #[allow(clippy::unnecessary_cast)]
    fn of(stat: &Stat) -> FileId {
        FileId {
            dev: stat.st_dev as u64,
            ino: stat.st_ino as u64,
        }
    }
}

/// Where the user's `--data` path really is. A symbolic link there is the user's own way to
/// share one data file, so it is followed, once: the launcher hands the result to every buyer,
/// and the lock file and order log live beside the real file. Refuses what is not a data file
/// (a directory, a FIFO, a device, a socket) before anything opens it, and a link planted by
/// another user in a sticky shared directory such as /tmp.
pub fn resolve_data_path(user: &Path) -> Result<PathBuf> {
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
            refuse_unless_regular(&path, FileType::from_raw_mode(meta.mode()))?;
            return Ok(tidy(path, hops));
        }
        refuse_untrusted_link(&path, &meta)?;
        let target =
            std::fs::read_link(&path).map_err(|e| Error::io("read symbolic link", &path, &e))?;
        // A relative target is relative to the link's directory; an absolute one replaces it.
        path = path.parent().unwrap_or(Path::new("")).join(target);
    }
    Err(Error::bad_data(format!(
        "data path {} goes through more than {MAX_LINKS} symbolic links; point --data at the \
         file itself",
        user.display()
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
            path = path.display().to_string(),
            example = example
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
fn refuse_untrusted_link(link: &Path, meta: &std::fs::Metadata) -> Result<()> {
    let dir = link.parent().filter(|p| !p.as_os_str().is_empty());
    let Ok(dir_meta) = std::fs::metadata(dir.unwrap_or(Path::new("."))) else {
        return Ok(());
    };
    let shared = dir_meta.permissions().mode() & 0o1002 == 0o1002;
    let me = rustix::process::geteuid().as_raw();
    if shared && meta.uid() != me && meta.uid() != dir_meta.uid() {
        return Err(Error::environment(format!(
            "data path {} is a symbolic link owned by another user (uid {}) in a shared \
             directory; grab-tickets follows only your own links there; point --data at the \
             real file",
            link.display(),
            meta.uid()
        )));
    }
    Ok(())
}

/// Only a regular file can be a data file; anything else is named, and refused at once.
fn refuse_unless_regular(path: &Path, kind: FileType) -> Result<()> {
    match kind {
        FileType::RegularFile => Ok(()),
        FileType::Directory => Err(Error::bad_data(format!(
            "data path {} is a directory; point --data at a JSON file, e.g. --data {}",
            path.display(),
            path.join("data.json").display()
        ))),
        other => Err(Error::bad_data(format!(
            "data path {} is {}, not a regular file; point --data at a JSON file like \
             {{\"ticket_num\": 3}}",
            path.display(),
            kind_name(other)
        ))),
    }
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
pub struct DataDir {
    fd: Arc<OwnedFd>,
    /// The directory as the user named it, for messages.
    path: PathBuf,
    mode: NewFileMode,
}

/// A sidecar opened by [`DataDir::open_sidecar`].
pub struct Sidecar {
    pub file: File,
    pub id: FileId,
}

impl DataDir {
    /// Opens the directory of `data` (a path [`resolve_data_path`] returned) and learns the
    /// data file's permission bits. Returns the directory and the data file's name in it.
    pub fn open(data: &Path) -> Result<(DataDir, &OsStr)> {
        let name = data.file_name().ok_or_else(|| {
            Error::bad_data(format!(
                "data path {} names no file; point --data at a JSON file",
                data.display()
            ))
        })?;
        let path = match data.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let opened = match rustix::fs::openat(CWD, &path, flags, Mode::empty()) {
            // A directory we may search but not list still works by name: O_PATH suffices
            // for everything but fsync, which then reopens it by name.
            Err(rustix::io::Errno::ACCESS) => {
                rustix::fs::openat(CWD, &path, flags | OFlags::PATH, Mode::empty())
            }
            other => other,
        };
        let fd = match opened {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => {
                return Err(Error::bad_data(format!(
                    "the directory of data file {} does not exist; create it with: mkdir -p {}",
                    data.display(),
                    path.display()
                )));
            }
            Err(e) => return Err(Error::io("open directory", &path, &e.into())),
        };
        let bits = match rustix::fs::statat(&fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => {
                let kind = FileType::from_raw_mode(stat.st_mode);
                if kind == FileType::Symlink {
                    return Err(Error::environment(format!(
                        "data file {} became a symbolic link after the run resolved it; \
                         something is changing this directory under the run",
                        data.display()
                    )));
                }
                refuse_unless_regular(data, kind)?;
                Some(stat.st_mode & 0o777)
            }
            Err(rustix::io::Errno::NOENT) => None,
            Err(e) => return Err(Error::io("inspect data file", data, &e.into())),
        };
        let umask_narrows = bits.is_some_and(|bits| bits & current_umask() != 0);
        let dir = DataDir {
            fd: Arc::new(fd),
            path,
            mode: NewFileMode {
                bits,
                umask_narrows,
            },
        };
        Ok((dir, name))
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates `name` as a new file of our own: `O_CREAT | O_EXCL | O_NOFOLLOW`, so whatever
    /// already has that name (a file, a planted symlink) is an error (`EEXIST`), never
    /// opened. Gets the data file's permission bits.
    pub fn create_new(&self, name: &OsStr, extra: OFlags) -> io::Result<OwnedFd> {
        let flags = OFlags::CREATE
            | OFlags::EXCL
            | OFlags::NOFOLLOW
            | OFlags::CLOEXEC
            | OFlags::NOCTTY
            | extra;
        let mode = Mode::from_raw_mode(self.mode.bits.unwrap_or(0o666));
        let fd = rustix::fs::openat(self.fd(), name, flags, mode)?;
        if self.mode.umask_narrows {
            rustix::fs::fchmod(&fd, mode)?;
        }
        Ok(fd)
    }

    /// Opens (creating if missing) the sidecar at `path`, a name in this directory, for
    /// reading and writing (`extra`: `O_APPEND` for the log). A sidecar is ours to write
    /// into, so it must be a plain file: a symbolic link or a file with a second hard link
    /// would make us write into some other file, which in a shared directory may be anyone's.
    /// `what` names it in errors ("lock file"). A new sidecar gets the data file's bits,
    /// without execute permission.
    pub fn open_sidecar(&self, path: &Path, what: &str, extra: OFlags) -> Result<Sidecar> {
        let name = path
            .file_name()
            .expect("a sidecar path ends in its file name");
        let open_error = |e: rustix::io::Errno| self.sidecar_error(path, name, what, e);
        // O_NONBLOCK only so that opening a FIFO or a device planted under this name cannot
        // hang; it is cleared once the file is known to be regular.
        let flags = OFlags::RDWR
            | OFlags::NOFOLLOW
            | OFlags::CLOEXEC
            | OFlags::NOCTTY
            | OFlags::NONBLOCK
            | extra;
        for _ in 0..OPEN_ATTEMPTS {
            let fd = match rustix::fs::openat(self.fd(), name, flags, Mode::empty()) {
                Ok(fd) => fd,
                Err(rustix::io::Errno::NOENT) => match self.create_sidecar(name, flags) {
                    Ok(fd) => fd,
                    // Someone else created it first: open theirs.
                    Err(rustix::io::Errno::EXIST) => continue,
                    Err(e) => return Err(open_error(e)),
                },
                Err(e) => return Err(open_error(e)),
            };
            let stat = rustix::fs::fstat(&fd).map_err(open_error)?;
            if let Some(refusal) = unsafe_sidecar(what, path, &stat) {
                return Err(refusal);
            }
            rustix::fs::fcntl_setfl(&fd, flags & OFlags::APPEND).map_err(open_error)?;
            return Ok(Sidecar {
                file: File::from(fd),
                id: FileId::of(&stat),
            });
        }
        Err(Error::environment(format!(
            "failed to open {what} {}: it keeps disappearing; something is deleting it \
             while grab-tickets runs",
            path.display()
        )))
    }

    /// Refuses the sidecar at `path` if what is there now could not be opened safely, before
    /// anything is created: a run that will be refused changes nothing. ([`open_sidecar`]
    /// checks the file it opens again.)
    ///
    /// [`open_sidecar`]: DataDir::open_sidecar
    pub fn check_sidecar(&self, path: &Path, what: &str) -> Result<()> {
        let name = path
            .file_name()
            .expect("a sidecar path ends in its file name");
        match rustix::fs::statat(self.fd(), name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => unsafe_sidecar(what, path, &stat).map_or(Ok(()), Err),
            Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(e) => Err(Error::io(&format!("inspect {what}"), path, &e.into())),
        }
    }

    fn create_sidecar(&self, name: &OsStr, flags: OFlags) -> rustix::io::Result<OwnedFd> {
        let mode = Mode::from_raw_mode(self.mode.bits.unwrap_or(0o666) & 0o666);
        let fd = rustix::fs::openat(self.fd(), name, flags | OFlags::CREATE | OFlags::EXCL, mode)?;
        if self.mode.umask_narrows {
            rustix::fs::fchmod(&fd, mode)?;
        }
        Ok(fd)
    }

    /// A clear refusal for each way opening a sidecar can fail.
    fn sidecar_error(&self, path: &Path, name: &OsStr, what: &str, e: rustix::io::Errno) -> Error {
        if e == rustix::io::Errno::LOOP
            && let Ok(stat) = rustix::fs::statat(self.fd(), name, AtFlags::SYMLINK_NOFOLLOW)
            && let Some(refusal) = unsafe_sidecar(what, path, &stat)
        {
            return refusal;
        }
        Error::io(&format!("open {what}"), path, &e.into())
    }

    /// Which file `name` is now, without following a link; `None` if nothing has that name.
    pub fn id_of(&self, name: &OsStr) -> io::Result<Option<FileId>> {
        match rustix::fs::statat(self.fd(), name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => Ok(Some(FileId::of(&stat))),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// fsyncs the directory, so a name created or renamed in it survives a power cut.
    pub fn sync(&self) -> Result<()> {
        let synced = match rustix::fs::fsync(self.fd()) {
            // Opened with O_PATH (a directory we may not list): reopen it to fsync.
            Err(rustix::io::Errno::BADF) => File::open(&self.path).and_then(|d| d.sync_all()),
            other => other.map_err(io::Error::from),
        };
        synced.map_err(|e| Error::io("fsync directory", &self.path, &e))
    }
}

/// Why the sidecar `stat` describes must not be written, if it must not: each refusal names
/// the file, what is wrong with it, and the fix.
fn unsafe_sidecar(what: &str, path: &Path, stat: &Stat) -> Option<Error> {
    let shown = path.display();
    let problem = match FileType::from_raw_mode(stat.st_mode) {
        FileType::Symlink => format!(
            "{what} {shown} is a symbolic link; grab-tickets never follows links to its own \
             files (in a shared directory a link may point at anyone's file); remove the link \
             and grab-tickets creates a new {what}"
        ),
        FileType::RegularFile if stat.st_nlink > 1 => format!(
            "{what} {shown} has {} hard links: another name shares its contents, and writing \
             it would change that file too; if nothing else needs it, remove {shown} and \
             grab-tickets creates a new {what}",
            stat.st_nlink
        ),
        FileType::RegularFile => return None,
        kind => format!(
            "{what} {shown} is {}, not a regular file; move it away and grab-tickets creates \
             a new {what}",
            kind_name(kind)
        ),
    };
    Some(Error::environment(problem))
}

fn kind_name(kind: FileType) -> &'static str {
    match kind {
        FileType::Directory => "a directory",
        FileType::Fifo => "a named pipe (FIFO)",
        FileType::Socket => "a socket",
        FileType::CharacterDevice | FileType::BlockDevice => "a device",
        FileType::Symlink => "a symbolic link",
        FileType::RegularFile | FileType::Unknown => "a file of an unknown kind",
    }
}

/// The process's umask. There is no call that only reads it: set it, then put it back.
fn current_umask() -> u32 {
    let mask = rustix::process::umask(Mode::from_raw_mode(0o022));
    rustix::process::umask(mask);
    mask.bits()
}

#[cfg(test)]
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
