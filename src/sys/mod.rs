//! The platform seam: every call that differs between Linux, other Unix (macOS, the BSDs) and
//! Windows lives below this module, one file per family; the rest of the crate is
//! platform-neutral and speaks only the types and functions re-exported here.
//!
//! - `unix`    every Unix: files named relative to an open directory (`openat`), flock, signals,
//!   process groups; with the fallbacks used where Linux's extras are missing
//! - `linux`   Linux's extras: `renameat2` exchange, `O_PATH`, the parent-death signal,
//!   `/proc/self/fd` and `/proc/locks`. Off with the `portable-unix` feature, so the other-Unix
//!   path runs (and is tested) on Linux too
//! - `windows` Win32's files: `MoveFileExW` replace, volume serial + file index, reparse points
//!   refused; `windows_lock` its `LockFileEx` ranges (the lock file from the pid slot on, the
//!   race gate past the end); `windows_process` the launcher's job object, the console's Ctrl-C
//!   handler, the shared clock
//! - `unix_volume`, `windows_volume`  which filesystem a directory is on (`doctor`)
//! - `record`  platform-neutral: the power-cut recorder the calls below report to when
//!   `explore --power-cut` turns it on (`GRAB_TICKETS_RECORD`)

#[cfg(all(target_os = "linux", not(feature = "portable-unix")))]
mod linux;
pub(crate) mod record;
#[cfg(unix)]
mod unix;
#[cfg(unix)]
mod unix_process;
#[cfg(unix)]
mod unix_volume;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
mod windows_lock;
#[cfg(windows)]
mod windows_process;
#[cfg(windows)]
mod windows_volume;

#[cfg(unix)]
pub(crate) use unix::*;
#[cfg(unix)]
pub(crate) use unix_process::*;
#[cfg(unix)]
pub(crate) use unix_volume::*;
#[cfg(windows)]
pub(crate) use windows::*;
#[cfg(windows)]
pub(crate) use windows_lock::*;
#[cfg(windows)]
pub(crate) use windows_process::*;
#[cfg(windows)]
pub(crate) use windows_volume::*;

/// What a process of this program is, for the start-up it needs (see `start`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The command a person (or a script) ran: the launcher, the explorer, any subcommand.
    Launcher,
    /// A buyer the launcher started (`grab-tickets buyer --plan JSON`).
    Buyer,
}

/// Which file this is, whatever its name: device and inode on Unix, volume serial number and
/// file index on Windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId {
    pub(crate) volume: u64,
    pub(crate) index: u64,
}

/// What kind of file a name leads to (the link itself, never its target).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Regular,
    Directory,
    /// A symbolic link, or on Windows any reparse point (junctions included).
    Link,
    Fifo,
    // An AF_UNIX socket on Windows is a reparse point, so it is reported as a Link there.
    #[cfg_attr(
        windows,
        expect(dead_code, reason = "Windows sockets are reparse points")
    )]
    Socket,
    Device,
    Unknown,
}

/// What one look at a name (or an open file) tells: its kind, identity and links.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub kind: Kind,
    pub id: FileId,
    /// Hard links to it: more than one means another name shares its contents.
    pub links: u64,
    /// Permission bits (`0o777`); `None` where the platform has none (Windows).
    pub perms: Option<u32>,
    /// The owner's user id; `None` where files have no such owner (Windows).
    pub owner: Option<u32>,
}

/// How a sidecar is written: in place at an offset (the lock file's pid slot), or only ever
/// appended to (the order log: every write lands at the end, in one piece).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Writes {
    InPlace,
    Append,
}

/// How a new file is opened once created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NewFile {
    /// Written once, then renamed into place (a temp file).
    WriteOnly,
    /// A sidecar, read and written for the rest of the process.
    Sidecar(Writes),
}

/// How a lock on the race gate is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Share {
    Shared,
    Exclusive,
}

/// Whether a lock call may block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Blocking {
    Try,
    Wait,
}

/// Microseconds since `epoch_ns` (a value of [`monotonic_ns`], possibly from another process).
pub(crate) fn micros_since(epoch_ns: u64) -> u64 {
    monotonic_ns().saturating_sub(epoch_ns) / 1_000
}

/// The permission bits a new file gets (ignored where files have none).
#[derive(Debug, Clone, Copy)]
#[cfg_attr(
    windows,
    expect(
        dead_code,
        reason = "Windows files have no permission bits: ACLs are inherited"
    )
)]
pub(crate) struct NewPerms {
    pub bits: u32,
    /// The umask would narrow `bits`: chmod the file right after creating it.
    pub chmod_after: bool,
}

/// The filesystem a directory is on, as the OS names it (`ext4`, `nfs4`, `apfs`, `NTFS`).
#[derive(Debug, Clone)]
pub(crate) struct Volume {
    pub filesystem: String,
    pub place: Place,
}

/// Where a volume is, when the OS says so apart from its filesystem's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// Only the name tells (Unix: `nfs` is remote, `ext4` is not).
    #[cfg_attr(
        all(windows, not(test)),
        expect(dead_code, reason = "Windows says where a drive is")
    )]
    ByName,
    /// The OS says it is on this machine (Windows: a fixed, removable or RAM disk).
    #[cfg_attr(
        all(unix, not(test)),
        expect(dead_code, reason = "Unix has no drive types")
    )]
    Local,
    /// The OS says it is on another machine (Windows: a mapped network drive, a UNC path).
    Network,
}

/// The two kinds of advisory lock a Unix has on a whole file. Windows has one (`LockFileEx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockKind {
    /// `flock(2)`: held by the open file; what fs2, and so the race, takes on Unix.
    Flock,
    /// A POSIX record lock (`fcntl(F_SETLK)`, what `lockf` takes): held by the process.
    Record,
}

/// Whether this platform has both kinds of [`LockKind`], so whether they can disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockKinds {
    #[cfg_attr(windows, expect(dead_code, reason = "Windows has one kind"))]
    FlockAndRecord,
    /// One kind only (Windows): there is nothing to compare.
    #[cfg_attr(unix, expect(dead_code, reason = "every Unix has both"))]
    OneKind,
}

/// What a lock that does not wait got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Locked {
    Got,
    /// Someone else holds a lock that excludes it.
    Blocked,
}

/// What making a name durable takes here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DirSync {
    /// fsync on the directory itself (Unix).
    #[cfg_attr(
        windows,
        expect(dead_code, reason = "Windows cannot fsync a directory")
    )]
    Fsync,
    /// Nothing can be fsynced: the rename is written through instead (Windows).
    #[cfg_attr(unix, expect(dead_code, reason = "every Unix fsyncs directories"))]
    WriteThrough,
}
