//! Win32's files: names joined to a directory's path (Windows has no `openat`), reparse points
//! never followed (`FILE_FLAG_OPEN_REPARSE_POINT`), identity from the volume serial and file
//! index, `MoveFileExW` replace and positioned reads and writes. Locks: `windows_lock`.

use super::record::{self, Op};
use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::windows::ffi::OsStrExt as _;
use std::os::windows::fs::{FileExt as _, OpenOptionsExt as _};
use std::os::windows::io::AsRawHandle as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use windows_sys::Win32::Foundation::{
    ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION, ERROR_STOPPED_ON_SYMLINK, HANDLE,
};
use windows_sys::Win32::Storage::FileSystem::{
    BY_HANDLE_FILE_INFORMATION, FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_REPARSE_POINT,
    FILE_FLAG_BACKUP_SEMANTICS, FILE_FLAG_OPEN_REPARSE_POINT, FILE_SHARE_DELETE, FILE_SHARE_READ,
    FILE_SHARE_WRITE, FILE_TYPE_CHAR, FILE_TYPE_DISK, FILE_TYPE_PIPE, GetFileInformationByHandle,
    GetFileType, MOVEFILE_REPLACE_EXISTING, MOVEFILE_WRITE_THROUGH, MoveFileExW,
};

use super::{DirSync, Entry, FileId, Kind, NewFile, NewPerms, Writes};

/// Every file is opened sharing read, write and delete, as std does: a buyer holding the data
/// file open must not stop another from renaming a new one over it.
const SHARE_ALL: u32 = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;

/// An open directory. Names below are joined to its path; the handle is held without
/// `FILE_SHARE_DELETE`, so the directory cannot be renamed or removed while we use it (the
/// Windows meaning of Unix's lookups relative to an open directory).
#[derive(Debug)]
pub(crate) struct Dir {
    _handle: File,
    path: PathBuf,
}

impl Dir {
    pub(crate) fn open(path: &Path) -> io::Result<Dir> {
        let handle = OpenOptions::new()
            .read(true)
            .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE)
            .custom_flags(FILE_FLAG_BACKUP_SEMANTICS)
            .open(path)?;
        if entry_of(&handle)?.kind != Kind::Directory {
            return Err(io::Error::other(crate::lang::tr!(
                "error-not-a-directory",
                path = crate::safe_text::OneLine::one_line(path)
            )));
        }
        Ok(Dir {
            _handle: handle,
            path: path.to_path_buf(),
        })
    }

    /// What `name` is now, a reparse point itself rather than its target; `None` if nothing
    /// has that name.
    pub(crate) fn stat(&self, name: &OsStr) -> io::Result<Option<Entry>> {
        let opened = OpenOptions::new()
            .access_mode(0)
            .share_mode(SHARE_ALL)
            .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS)
            .open(self.path.join(name));
        match opened {
            Ok(file) => Ok(Some(entry_of(&file)?)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Opens `name` for reading; a reparse point is refused, never followed.
    pub(crate) fn open_read(&self, name: &OsStr) -> io::Result<File> {
        let mut options = OpenOptions::new();
        options.read(true);
        self.open_no_follow(name, &options)
    }

    /// Creates `name` as a new file of our own (`CREATE_NEW`, reparse points not followed):
    /// whatever already has the name is `AlreadyExists`. Windows files have no permission
    /// bits, so `perms` has no meaning here (ACLs are inherited from the directory).
    pub(crate) fn create_new(
        &self,
        name: &OsStr,
        how: NewFile,
        perms: NewPerms,
    ) -> io::Result<File> {
        let _ = perms;
        let mut options = OpenOptions::new();
        options.create_new(true);
        match how {
            NewFile::WriteOnly => options.write(true),
            NewFile::Sidecar(writes) => sidecar_options(&mut options, writes),
        };
        let file = self.open_no_follow(name, &options)?;
        record::note(|| Op::Create {
            name: record::name(name),
        });
        Ok(file)
    }

    /// Opens the existing sidecar `name` for reading and writing; a reparse point is refused.
    pub(crate) fn open_sidecar(&self, name: &OsStr, writes: Writes) -> io::Result<File> {
        let mut options = OpenOptions::new();
        sidecar_options(&mut options, writes);
        self.open_no_follow(name, &options)
    }

    fn open_no_follow(&self, name: &OsStr, options: &OpenOptions) -> io::Result<File> {
        let mut options = options.clone();
        options
            .share_mode(SHARE_ALL)
            .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT);
        let file = options.open(self.path.join(name))?;
        if entry_of(&file)?.kind == Kind::Link {
            return Err(io::Error::from_raw_os_error(
                ERROR_STOPPED_ON_SYMLINK as i32,
            ));
        }
        Ok(file)
    }

    pub(crate) fn unlink(&self, name: &OsStr) -> io::Result<()> {
        std::fs::remove_file(self.path.join(name))?;
        record::note(|| Op::Unlink {
            name: record::name(name),
        });
        Ok(())
    }

    /// Makes `temp` the file called `name` with `MoveFileExW(MOVEFILE_REPLACE_EXISTING |
    /// MOVEFILE_WRITE_THROUGH)`: a reader sees the old file or the new one, never neither.
    /// A reader that opened the old file without `FILE_SHARE_DELETE` (an editor, a virus
    /// scanner) makes the move fail with a sharing violation for a moment: retried briefly.
    pub(crate) fn replace(&self, temp: &OsStr, name: &OsStr) -> io::Result<()> {
        let from = wide(&self.path.join(temp));
        let to = wide(&self.path.join(name));
        let flags = MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH;
        let mut tries = 0;
        loop {
            // SAFETY: both are NUL-terminated UTF-16 strings that outlive the call.
            if unsafe { MoveFileExW(from.as_ptr(), to.as_ptr(), flags) } != 0 {
                break;
            }
            let err = io::Error::last_os_error();
            let busy = matches!(
                err.raw_os_error().map(|c| c as u32),
                Some(ERROR_SHARING_VIOLATION) | Some(ERROR_ACCESS_DENIED)
            );
            tries += 1;
            if !busy || tries >= 100 {
                return Err(err);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        record::note(|| Op::Rename {
            from: record::name(temp),
            to: record::name(name),
        });
        Ok(())
    }

    /// Windows cannot flush a directory (FlushFileBuffers refuses a directory handle); a
    /// name's durability comes from NTFS's metadata journal and `MOVEFILE_WRITE_THROUGH`,
    /// which returns only once the rename is on disk. So there is nothing left to do here.
    pub(crate) fn sync(&self) -> io::Result<()> {
        record::note(|| Op::SyncDir);
        Ok(())
    }
}

/// A directory cannot be fsynced here: renames are written through (`MOVEFILE_WRITE_THROUGH`).
pub(crate) const DIR_SYNC: DirSync = DirSync::WriteThrough;

fn sidecar_options(options: &mut OpenOptions, writes: Writes) -> &mut OpenOptions {
    match writes {
        Writes::InPlace => options.read(true).write(true),
        Writes::Append => options.read(true).append(true),
    }
}

pub(crate) fn wide(path: &Path) -> Vec<u16> {
    path.as_os_str().encode_wide().chain(Some(0)).collect()
}

/// Windows opens nothing non-blocking (a pipe or device is refused by kind before use), so
/// there is nothing to settle.
pub(crate) fn settle_sidecar(file: &File, writes: Writes) -> io::Result<()> {
    let _ = (file, writes);
    Ok(())
}

/// What the open `file` is (GetFileInformationByHandle, GetFileType).
pub(crate) fn entry_of(file: &File) -> io::Result<Entry> {
    let handle = file.as_raw_handle() as HANDLE;
    // SAFETY: a zeroed BY_HANDLE_FILE_INFORMATION is valid; `handle` is open for the call.
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    if unsafe { GetFileInformationByHandle(handle, &mut info) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let attrs = info.dwFileAttributes;
    let kind = if attrs & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
        Kind::Link
    } else if attrs & FILE_ATTRIBUTE_DIRECTORY != 0 {
        Kind::Directory
    } else {
        // SAFETY: as above.
        match unsafe { GetFileType(handle) } {
            FILE_TYPE_DISK => Kind::Regular,
            FILE_TYPE_PIPE => Kind::Fifo,
            FILE_TYPE_CHAR => Kind::Device,
            _ => Kind::Unknown,
        }
    };
    Ok(Entry {
        kind,
        id: FileId {
            volume: u64::from(info.dwVolumeSerialNumber),
            index: u64::from(info.nFileIndexHigh) << 32 | u64::from(info.nFileIndexLow),
        },
        links: u64::from(info.nNumberOfLinks),
        perms: None,
        owner: None,
    })
}

/// The kind std's metadata names (std reports symlinks and junctions as symlinks).
pub(crate) fn kind_of(kind: &std::fs::FileType) -> Kind {
    if kind.is_symlink() {
        Kind::Link
    } else if kind.is_file() {
        Kind::Regular
    } else if kind.is_dir() {
        Kind::Directory
    } else {
        Kind::Unknown
    }
}

/// Whether opening a name failed because it is a reparse point we refused to follow.
pub(crate) fn is_refused_link(err: &io::Error) -> bool {
    err.raw_os_error() == Some(ERROR_STOPPED_ON_SYMLINK as i32)
}

/// Windows has no sticky world-writable directories: access is by ACL, which we do not read.
pub(crate) fn is_shared_sticky(dir: &std::fs::Metadata) -> bool {
    let _ = dir;
    false
}

/// Windows files have no owner uid; the shared-directory owner check does not apply.
pub(crate) fn owner_of(meta: &std::fs::Metadata) -> Option<u32> {
    let _ = meta;
    None
}

pub(crate) fn my_uid() -> Option<u32> {
    None
}

/// Windows has no umask: no permission bit is ever narrowed.
pub(crate) fn current_umask() -> u32 {
    0
}

/// A new open file of `file` (its own locks), which is `path`: the name is reopened and
/// refused if it now names another file.
pub(crate) fn reopen(file: &File, path: &Path) -> io::Result<File> {
    let again = OpenOptions::new()
        .read(true)
        .write(true)
        .share_mode(SHARE_ALL)
        .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
        .open(path)?;
    if entry_of(&again)?.id != entry_of(file)?.id {
        return Err(io::Error::other(crate::lang::tr!(
            "error-replaced-while-open",
            path = crate::safe_text::OneLine::one_line(path)
        )));
    }
    Ok(again)
}

/// Which file `path` names, links followed; `None` if it cannot be looked at.
pub(crate) fn id_of_path(path: &Path) -> Option<FileId> {
    let file = OpenOptions::new()
        .access_mode(0)
        .share_mode(SHARE_ALL)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS)
        .open(path)
        .ok()?;
    entry_of(&file).ok().map(|e| e.id)
}

/// Reads exactly `buf.len()` bytes at `offset`. Windows' positioned read (`seek_read`) also
/// moves the file pointer; no caller relies on it.
pub(crate) fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match file.seek_read(buf, offset)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    match file.seek_read(buf, offset) {
        // Past the end Windows may say "handle EOF" instead of reading 0 bytes.
        Err(e) if e.raw_os_error() == Some(38) => Ok(0),
        other => other,
    }
}

pub(crate) fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match file.seek_write(buf, offset)? {
            0 => return Err(io::ErrorKind::WriteZero.into()),
            n => {
                buf = &buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

/// Where throwaway files go (the explorer's races): the temp dir.
pub(crate) fn scratch_dir() -> PathBuf {
    std::env::temp_dir()
}
