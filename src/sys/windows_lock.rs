//! Win32's locks: the lock file's range from the pid slot on and the race gate's byte past
//! the end, both `LockFileEx` (mandatory on Windows, so neither covers bytes anyone reads).

use std::fs::File;
use std::io;
use std::os::windows::io::AsRawHandle as _;

use windows_sys::Win32::Foundation::{ERROR_INVALID_FUNCTION, ERROR_NOT_SUPPORTED, HANDLE};
use windows_sys::Win32::Storage::FileSystem::{
    LOCKFILE_EXCLUSIVE_LOCK, LOCKFILE_FAIL_IMMEDIATELY, LockFileEx, UnlockFileEx,
};
use windows_sys::Win32::System::IO::OVERLAPPED;

use super::{Blocking, LockKind, LockKinds, Locked, Share};

/// Whether a lock failed because this filesystem has no locks at all.
pub(crate) fn lock_unsupported(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error().map(|c| c as u32),
        Some(ERROR_NOT_SUPPORTED) | Some(ERROR_INVALID_FUNCTION)
    )
}

/// Where the race gate's byte range starts: far past any end the order log will reach.
/// Windows locks are mandatory, so a lock on the log's bytes would stop the buyers' appends;
/// a range no one reads or writes excludes only other lockers, as a flock does on Unix.
const GATE_OFFSET: u64 = 1 << 62;

fn overlapped_at(offset: u64) -> OVERLAPPED {
    // SAFETY: a zeroed OVERLAPPED is valid; only the offset is set.
    let mut overlapped: OVERLAPPED = unsafe { std::mem::zeroed() };
    overlapped.Anonymous.Anonymous.Offset = offset as u32;
    overlapped.Anonymous.Anonymous.OffsetHigh = (offset >> 32) as u32;
    overlapped
}

fn gate_overlapped() -> OVERLAPPED {
    overlapped_at(GATE_OFFSET)
}

/// Locks the lock file exclusively from byte `from` to the end of any file (LockFileEx).
/// Windows locks are mandatory: a lock over the pid slot before `from` (fs2 locks the whole
/// file) would stop every waiter reading whose lock it waits for. A lock over the whole file,
/// as an outside program may take, still overlaps this range, so the two exclude each other.
pub(crate) fn lock_sidecar(file: &File, from: u64, blocking: Blocking) -> io::Result<()> {
    let mut flags = LOCKFILE_EXCLUSIVE_LOCK;
    if blocking == Blocking::Try {
        flags |= LOCKFILE_FAIL_IMMEDIATELY;
    }
    let len = u64::MAX - from;
    let mut overlapped = overlapped_at(from);
    let handle = file.as_raw_handle() as HANDLE;
    // SAFETY: `handle` is open and `overlapped` outlives the (synchronous) call.
    let locked = unsafe {
        LockFileEx(
            handle,
            flags,
            0,
            len as u32,
            (len >> 32) as u32,
            &mut overlapped,
        )
    };
    if locked == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

pub(crate) fn unlock_sidecar(file: &File, from: u64) -> io::Result<()> {
    let len = u64::MAX - from;
    let mut overlapped = overlapped_at(from);
    let handle = file.as_raw_handle() as HANDLE;
    // SAFETY: as in `lock_sidecar`; the range is the one it locked.
    if unsafe { UnlockFileEx(handle, 0, len as u32, (len >> 32) as u32, &mut overlapped) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Locks the race gate: `LockFileEx` on one byte at [`GATE_OFFSET`] of the order log.
pub(crate) fn gate_lock(file: &File, share: Share, blocking: Blocking) -> io::Result<()> {
    let mut flags = match share {
        Share::Shared => 0,
        Share::Exclusive => LOCKFILE_EXCLUSIVE_LOCK,
    };
    if blocking == Blocking::Try {
        flags |= LOCKFILE_FAIL_IMMEDIATELY;
    }
    let mut overlapped = gate_overlapped();
    let handle = file.as_raw_handle() as HANDLE;
    // SAFETY: `handle` is open and `overlapped` outlives the (synchronous) call.
    if unsafe { LockFileEx(handle, flags, 0, 1, 0, &mut overlapped) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

pub(crate) fn gate_unlock(file: &File) -> io::Result<()> {
    let mut overlapped = gate_overlapped();
    let handle = file.as_raw_handle() as HANDLE;
    // SAFETY: as in `gate_lock`.
    if unsafe { UnlockFileEx(handle, 0, 1, 0, &mut overlapped) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Windows does not say who holds a lock on a file: the caller says "another process".
pub(crate) fn lock_holders(file: &File) -> Vec<u32> {
    let _ = file;
    Vec::new()
}

/// Windows has one kind of lock (`LockFileEx`), so `doctor` has no two kinds to compare.
pub(crate) const LOCK_KINDS: LockKinds = LockKinds::OneKind;

/// There is no flock or record lock here (see [`LOCK_KINDS`]): nothing to take.
pub(crate) fn try_lock_kind(_file: &File, kind: LockKind) -> io::Result<Locked> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!("Windows has no {kind:?} lock"),
    ))
}

pub(crate) fn unlock_kind(_file: &File, _kind: LockKind) -> io::Result<()> {
    Ok(())
}
