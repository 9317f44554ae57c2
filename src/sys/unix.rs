//! Every Unix (Linux, macOS, the BSDs): files named relative to an open directory, reads and
//! writes at offsets, and flock, through rustix and libc (processes and time: `unix_process.rs`). Where Linux has something better
//! (`linux.rs`) it is used; the fallbacks here are what macOS and the BSDs get, and what Linux
//! gets with the `portable-unix` feature.

use super::record::{self, Op};
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{FileExt as _, FileTypeExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

#[cfg(all(target_os = "linux", not(feature = "portable-unix")))]
use super::linux as extras;
use super::{
    Blocking, DirSync, Entry, FileId, Kind, LockKind, LockKinds, Locked, NewFile, NewPerms, Share,
    Writes,
};

/// An open directory: every name below is looked up relative to it, so renaming a directory
/// above it mid-run changes nothing.
#[derive(Debug)]
pub(crate) struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

impl Dir {
    /// Opens the directory at `path` for lookups (`O_DIRECTORY`).
    pub(crate) fn open(path: &Path) -> io::Result<Dir> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = match rustix::fs::openat(CWD, path, flags, Mode::empty()) {
            #[cfg(all(target_os = "linux", not(feature = "portable-unix")))]
            Err(Errno::ACCESS) => extras::open_dir_search_only(path, flags)?,
            other => other?,
        };
        Ok(Dir {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// What `name` is now, without following a link; `None` if nothing has that name.
    pub(crate) fn stat(&self, name: &OsStr) -> io::Result<Option<Entry>> {
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => Ok(Some(entry(&stat))),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Opens `name` for reading, never following a link and never waiting (a FIFO planted
    /// there gives what it has at once).
    pub(crate) fn open_read(&self, name: &OsStr) -> io::Result<File> {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        Ok(File::from(rustix::fs::openat(
            &self.fd,
            name,
            flags,
            Mode::empty(),
        )?))
    }

    /// Creates `name` as a new file of our own (`O_CREAT | O_EXCL | O_NOFOLLOW`): whatever
    /// already has the name is `AlreadyExists`, never opened.
    pub(crate) fn create_new(
        &self,
        name: &OsStr,
        how: NewFile,
        perms: NewPerms,
    ) -> io::Result<File> {
        let access = match how {
            NewFile::WriteOnly => OFlags::WRONLY,
            NewFile::Sidecar(writes) => sidecar_flags(writes),
        };
        let flags = access | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mode = Mode::from_raw_mode(perms.bits as _);
        let fd = rustix::fs::openat(&self.fd, name, flags | OFlags::NOCTTY, mode)?;
        record::note(|| Op::Create {
            name: record::name(name),
        });
        if perms.chmod_after {
            rustix::fs::fchmod(&fd, mode)?;
        }
        Ok(File::from(fd))
    }

    /// Opens the existing sidecar `name` for reading and writing, following no link. Opened
    /// non-blocking so that a FIFO or device planted there cannot hang us; the caller checks
    /// [`entry_of`] and then calls [`settle_sidecar`].
    pub(crate) fn open_sidecar(&self, name: &OsStr, writes: Writes) -> io::Result<File> {
        let flags = sidecar_flags(writes) | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY;
        Ok(File::from(rustix::fs::openat(
            &self.fd,
            name,
            flags,
            Mode::empty(),
        )?))
    }

    pub(crate) fn unlink(&self, name: &OsStr) -> io::Result<()> {
        rustix::fs::unlinkat(&self.fd, name, AtFlags::empty())?;
        record::note(|| Op::Unlink {
            name: record::name(name),
        });
        Ok(())
    }

    /// Makes `temp` the file called `name`, atomically for every reader, and removes the old
    /// one. Linux trades the two names with `renameat2(RENAME_EXCHANGE)` and unlinks the old
    /// copy: on ext4 about 4× cheaper than a rename over the old file, which makes ext4 start
    /// writeback of the new one (auto_da_alloc). Elsewhere a plain rename, which is as atomic.
    pub(crate) fn replace(&self, temp: &OsStr, name: &OsStr) -> io::Result<()> {
        #[cfg(all(target_os = "linux", not(feature = "portable-unix")))]
        if extras::exchange(&self.fd, temp, name)? {
            record::note(|| Op::Exchange {
                a: record::name(temp),
                b: record::name(name),
            });
            // The new document is in place; a leftover old copy is only litter.
            let _ = self.unlink(temp);
            return Ok(());
        }
        rustix::fs::renameat(&self.fd, temp, &self.fd, name)?;
        record::note(|| Op::Rename {
            from: record::name(temp),
            to: record::name(name),
        });
        Ok(())
    }

    /// fsyncs the directory, so a name created or renamed in it survives a power cut.
    pub(crate) fn sync(&self) -> io::Result<()> {
        record::note(|| Op::SyncDir);
        match rustix::fs::fsync(&self.fd) {
            // Opened search-only (a directory we may not list): reopen it to fsync.
            Err(Errno::BADF) => File::open(&self.path)?.sync_all(),
            other => Ok(other?),
        }
    }
}

fn sidecar_flags(writes: Writes) -> OFlags {
    let base = OFlags::RDWR | OFlags::NONBLOCK;
    match writes {
        Writes::InPlace => base,
        Writes::Append => base | OFlags::APPEND,
    }
}

/// Clears the non-blocking flag [`Dir::open_sidecar`] set, once the file is known to be regular.
pub(crate) fn settle_sidecar(file: &File, writes: Writes) -> io::Result<()> {
    let keep = match writes {
        Writes::InPlace => OFlags::empty(),
        Writes::Append => OFlags::APPEND,
    };
    Ok(rustix::fs::fcntl_setfl(file, keep)?)
}

/// What the open `file` is (fstat).
pub(crate) fn entry_of(file: &File) -> io::Result<Entry> {
    Ok(entry(&rustix::fs::fstat(file)?))
}

// st_dev and st_ino are u64 here but narrower on some targets.
#[allow(clippy::unnecessary_cast)]
fn entry(stat: &Stat) -> Entry {
    Entry {
        kind: kind_of_mode(FileType::from_raw_mode(stat.st_mode as _)),
        id: FileId {
            volume: stat.st_dev as u64,
            index: stat.st_ino as u64,
        },
        links: stat.st_nlink as u64,
        perms: Some(stat.st_mode as u32 & 0o777),
        owner: Some(stat.st_uid),
    }
}

fn kind_of_mode(kind: FileType) -> Kind {
    match kind {
        FileType::RegularFile => Kind::Regular,
        FileType::Directory => Kind::Directory,
        FileType::Symlink => Kind::Link,
        FileType::Fifo => Kind::Fifo,
        FileType::Socket => Kind::Socket,
        FileType::CharacterDevice | FileType::BlockDevice => Kind::Device,
        FileType::Unknown => Kind::Unknown,
    }
}

/// The kind std's metadata names.
pub(crate) fn kind_of(kind: &std::fs::FileType) -> Kind {
    if kind.is_file() {
        Kind::Regular
    } else if kind.is_dir() {
        Kind::Directory
    } else if kind.is_symlink() {
        Kind::Link
    } else if kind.is_fifo() {
        Kind::Fifo
    } else if kind.is_socket() {
        Kind::Socket
    } else if kind.is_block_device() || kind.is_char_device() {
        Kind::Device
    } else {
        Kind::Unknown
    }
}

/// Whether opening a name failed because it is a link we refused to follow (`O_NOFOLLOW`).
pub(crate) fn is_refused_link(err: &io::Error) -> bool {
    err.raw_os_error() == Some(libc::ELOOP)
}

/// A sticky world-writable directory such as /tmp: anyone may create names there.
pub(crate) fn is_shared_sticky(dir: &std::fs::Metadata) -> bool {
    dir.permissions().mode() & 0o1002 == 0o1002
}

/// The owner of what `meta` describes.
pub(crate) fn owner_of(meta: &std::fs::Metadata) -> Option<u32> {
    Some(meta.uid())
}

/// This process's effective user id.
pub(crate) fn my_uid() -> Option<u32> {
    Some(rustix::process::geteuid().as_raw())
}

/// The process's umask. There is no call that only reads it: set it, then put it back.
pub(crate) fn current_umask() -> u32 {
    let mask = rustix::process::umask(Mode::from_raw_mode(0o022));
    rustix::process::umask(mask);
    mask.bits() as u32
}

/// A new open file of `file` (its own locks, its own offset), which is `path`. Linux reopens
/// it through `/proc/self/fd`, so it is this very file whatever happened to the name; other
/// Unix reopens the name and refuses if it now names another file.
pub(crate) fn reopen(file: &File, path: &Path) -> io::Result<File> {
    #[cfg(all(target_os = "linux", not(feature = "portable-unix")))]
    return extras::reopen(file).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("{}: {e}", crate::safe_text::OneLine::one_line(path)),
        )
    });
    #[cfg(not(all(target_os = "linux", not(feature = "portable-unix"))))]
    {
        let again = File::open(path)?;
        if entry_of(&again)?.id != entry_of(file)?.id {
            return Err(io::Error::other(crate::lang::tr!(
                "error-replaced-while-open",
                path = crate::safe_text::OneLine::one_line(path)
            )));
        }
        Ok(again)
    }
}

/// Which file `path` names, links followed; `None` if it cannot be looked at.
pub(crate) fn id_of_path(path: &Path) -> Option<FileId> {
    let meta = std::fs::metadata(path).ok()?;
    Some(FileId {
        volume: meta.dev(),
        index: meta.ino(),
    })
}

/// Reads exactly `buf.len()` bytes at `offset` (pread), leaving the file offset alone.
pub(crate) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    file.read_exact_at(buf, offset)
}

/// Reads what is at `offset`, up to `buf.len()` bytes.
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    file.read_at(buf, offset)
}

/// Writes all of `buf` at `offset` (pwrite).
pub(crate) fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    file.write_all_at(buf, offset)
}

/// Whether a lock failed because this filesystem has no locks at all.
pub(crate) fn lock_unsupported(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::ENOLCK) | Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS)
    )
}

/// Locks a sidecar (the lock file) exclusively: a flock on the whole file. flock has no byte
/// ranges and is advisory (it hides no byte from a reader), so `from` means nothing here.
pub(crate) fn lock_sidecar(file: &File, from: u64, blocking: Blocking) -> io::Result<()> {
    let _ = from;
    match blocking {
        Blocking::Try => fs2::FileExt::try_lock_exclusive(file),
        Blocking::Wait => fs2::FileExt::lock_exclusive(file),
    }
}

pub(crate) fn unlock_sidecar(file: &File, from: u64) -> io::Result<()> {
    let _ = from;
    fs2::FileExt::unlock(file)
}

/// Locks the race gate: a flock on the whole order log. flock is advisory, so the buyers'
/// appends to the same file go on while launchers hold it.
pub(crate) fn gate_lock(file: &File, share: Share, blocking: Blocking) -> io::Result<()> {
    match (share, blocking) {
        (Share::Shared, Blocking::Try) => fs2::FileExt::try_lock_shared(file),
        (Share::Exclusive, Blocking::Try) => fs2::FileExt::try_lock_exclusive(file),
        (Share::Shared, Blocking::Wait) => fs2::FileExt::lock_shared(file),
        (Share::Exclusive, Blocking::Wait) => fs2::FileExt::lock_exclusive(file),
    }
}

pub(crate) fn gate_unlock(file: &File) -> io::Result<()> {
    fs2::FileExt::unlock(file)
}

/// The pids holding a flock on `file` (Linux's /proc/locks); empty where it cannot tell.
pub(crate) fn lock_holders(file: &File) -> Vec<u32> {
    #[cfg(all(target_os = "linux", not(feature = "portable-unix")))]
    return extras::flock_holders(file);
    #[cfg(not(all(target_os = "linux", not(feature = "portable-unix"))))]
    {
        let _ = file;
        Vec::new()
    }
}

/// Where throwaway files go (the explorer's races): `$TMPDIR` when it is set, else on Linux a
/// memory filesystem when there is one, else the system's temp dir. Nothing placed here is
/// meant to survive, so the syncs every race still makes need not reach a disk.
pub(crate) fn scratch_dir() -> PathBuf {
    #[cfg(all(target_os = "linux", not(feature = "portable-unix")))]
    if std::env::var_os("TMPDIR").is_none()
        && let Some(dir) = extras::memory_dir()
    {
        return dir;
    }
    std::env::temp_dir()
}

/// Every Unix has both kinds of lock, and fsyncs directories.
pub(crate) const LOCK_KINDS: LockKinds = LockKinds::FlockAndRecord;
pub(crate) const DIR_SYNC: DirSync = DirSync::Fsync;

/// Tries an exclusive lock of `kind` on the whole of `file`, without waiting (`doctor`'s
/// comparison of the two kinds; the race itself only ever takes fs2's flock).
pub(crate) fn try_lock_kind(file: &File, kind: LockKind) -> io::Result<Locked> {
    use rustix::fs::FlockOperation::NonBlockingLockExclusive as Exclusive;
    let tried = match kind {
        LockKind::Flock => rustix::fs::flock(file, Exclusive),
        LockKind::Record => rustix::fs::fcntl_lock(file, Exclusive),
    };
    match tried {
        Ok(()) => Ok(Locked::Got),
        // EAGAIN from fcntl, EWOULDBLOCK from flock (the same number on Linux, not on all).
        #[allow(unreachable_patterns)]
        Err(Errno::AGAIN | Errno::WOULDBLOCK | Errno::ACCESS) => Ok(Locked::Blocked),
        Err(e) => Err(e.into()),
    }
}

/// Releases the lock of `kind` [`try_lock_kind`] took.
pub(crate) fn unlock_kind(file: &File, kind: LockKind) -> io::Result<()> {
    use rustix::fs::FlockOperation::NonBlockingUnlock as Unlock;
    Ok(match kind {
        LockKind::Flock => rustix::fs::flock(file, Unlock),
        LockKind::Record => rustix::fs::fcntl_lock(file, Unlock),
    }?)
}
