//! Linux's extras over other Unix: each one a guarantee or a figure the portable path lacks.
//! With the `portable-unix` feature this module is left out and `unix.rs`'s fallbacks run.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use rustix::fs::{CWD, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

/// A directory we may search but not list still works by name: `O_PATH` suffices for
/// everything but fsync, which then reopens it by name.
pub(super) fn open_dir_search_only(path: &Path, flags: OFlags) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(
        CWD,
        path,
        flags | OFlags::PATH,
        Mode::empty(),
    )?)
}

/// Trades `temp` and `name` atomically (`renameat2(RENAME_EXCHANGE)`). `Ok(false)`: this
/// filesystem or kernel cannot, so the caller renames instead.
pub(super) fn exchange(dir: &OwnedFd, temp: &OsStr, name: &OsStr) -> io::Result<bool> {
    match rustix::fs::renameat_with(dir, temp, dir, name, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP | Errno::NOENT) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Asks Linux to SIGKILL us when the launcher dies.
pub(super) fn set_parent_death_signal() {
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
}

/// Reopens `file` through `/proc/self/fd`: this very file, whatever happened to its name.
pub(super) fn reopen(file: &File) -> io::Result<File> {
    File::open(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

/// The pids holding a flock on `file`, from /proc/locks. Lines look like
/// `3: FLOCK  ADVISORY  READ  812 fd:01:1234 0 EOF`; waiters (`->`) are not holders.
pub(super) fn flock_holders(file: &File) -> Vec<u32> {
    let Ok(meta) = file.metadata() else {
        return Vec::new();
    };
    let id = format!(
        "{:02x}:{:02x}:{}",
        rustix::fs::major(meta.dev()),
        rustix::fs::minor(meta.dev()),
        meta.ino()
    );
    let Ok(table) = std::fs::read_to_string("/proc/locks") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = table
        .lines()
        .filter(|line| line.contains("FLOCK") && !line.contains("->"))
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let at = fields.iter().position(|f| *f == id)?;
            fields.get(at.checked_sub(1)?)?.parse().ok()
        })
        .filter(|&pid| pid != std::process::id())
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// `/dev/shm` when it is a memory filesystem (tmpfs), where creating, renaming, unlinking and
/// syncing a file cost no disk I/O.
pub(super) fn memory_dir() -> Option<std::path::PathBuf> {
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    let dir = Path::new("/dev/shm");
    let fs = rustix::fs::statfs(dir).ok()?;
    #[allow(
        clippy::unnecessary_cast,
        reason = "f_type's type differs between targets"
    )]
    (fs.f_type as i64 == TMPFS_MAGIC).then(|| dir.to_path_buf())
}

/// The mount table's name for the filesystem `dir` is on (`/proc/self/mountinfo`, the line
/// whose device is the directory's): `ext4`, `fuse.sshfs`, `nfs4`. `None` if it cannot tell.
pub(super) fn mount_type(dir: &Path) -> Option<String> {
    let dev = std::fs::metadata(dir).ok()?.dev();
    let id = format!("{}:{}", rustix::fs::major(dev), rustix::fs::minor(dev));
    let table = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    // `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw`: the device is the
    // third field, the type the first after the lone "-".
    table.lines().rev().find_map(|line| {
        let mut fields = line.split_whitespace();
        if fields.nth(2)? != id {
            return None;
        }
        let mut after = fields.skip_while(|f| *f != "-");
        after.next()?;
        let kind = after.next()?;
        Some(kind.to_string())
    })
}
