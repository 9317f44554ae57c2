//! Which filesystem a directory is on, for `doctor`: `GetVolumeInformationByHandleW` names it
//! (NTFS, ReFS, FAT32, exFAT), and `GetDriveTypeW` says whether the drive is a network one (a
//! share mounted over SMB reports the server's filesystem, often "NTFS").

use std::fs::OpenOptions;
use std::io;
use std::os::windows::fs::OpenOptionsExt as _;
use std::os::windows::io::AsRawHandle as _;
use std::path::Path;

use windows_sys::Win32::Storage::FileSystem::{
    FILE_FLAG_BACKUP_SEMANTICS, FILE_SHARE_DELETE, FILE_SHARE_READ, FILE_SHARE_WRITE,
    GetDriveTypeW, GetVolumeInformationByHandleW, GetVolumePathNameW,
};

use super::windows::wide;
use super::{Place, Volume};

/// `DRIVE_REMOTE` (WinBase.h); windows-sys keeps it behind a feature we need nothing else from.
const DRIVE_REMOTE: u32 = 4;
/// Longest volume or filesystem name Win32 returns, with its NUL (MAX_PATH + 1).
const NAME_LEN: usize = 261;

/// The filesystem `dir` is on, and whether the drive is a network one.
pub(crate) fn volume_of(dir: &Path) -> io::Result<Volume> {
    let handle = OpenOptions::new()
        .read(true)
        .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS)
        .open(dir)?;
    let mut name = [0u16; NAME_LEN];
    // SAFETY: the handle is open for the call; the buffer is NAME_LEN u16s, as passed; every
    // other out-pointer is null, which the call allows.
    let ok = unsafe {
        GetVolumeInformationByHandleW(
            handle.as_raw_handle(),
            std::ptr::null_mut(),
            0,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            name.as_mut_ptr(),
            NAME_LEN as u32,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    let len = name.iter().position(|&c| c == 0).unwrap_or(NAME_LEN);
    Ok(Volume {
        filesystem: String::from_utf16_lossy(&name[..len]),
        place: place_of(dir),
    })
}

/// Whether the drive `dir` is on is a network drive; `Local` when it cannot tell otherwise.
fn place_of(dir: &Path) -> super::Place {
    let path = wide(dir);
    let mut root = [0u16; NAME_LEN];
    // SAFETY: `path` is NUL-terminated; `root` is NAME_LEN u16s, as passed.
    let found = unsafe { GetVolumePathNameW(path.as_ptr(), root.as_mut_ptr(), NAME_LEN as u32) };
    if found == 0 {
        return Place::Local;
    }
    // SAFETY: GetVolumePathNameW left a NUL-terminated root path in `root`.
    match unsafe { GetDriveTypeW(root.as_ptr()) } {
        DRIVE_REMOTE => Place::Network,
        _ => Place::Local,
    }
}
