//! Every Unix's processes and time: the shared monotonic clock, the event pipe's ends, the
//! buyers' process group and the signals that reach it (through rustix and libc). The files
//! are `unix.rs`'s; Linux's extras come from `linux.rs` as there.

use std::fs::File;
use std::io::{self, PipeReader};
use std::os::fd::AsFd;
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::time::Duration;

use rustix::io::Errno;
use rustix::process::{Pid, Signal};

#[cfg(all(target_os = "linux", not(feature = "portable-unix")))]
use super::linux as extras;

/// The part of std's start-up this program relies on, since `main.rs` starts at a C `main`
/// (std's also installs a stack-overflow handler, whose set-up reads /proc/self/maps: a
/// stack overflow is then a plain SIGSEGV). SIGPIPE is ignored, as std does, so a write to a
/// pipe nobody reads is an `EPIPE` error the code handles (a buyer whose launcher is gone
/// stops; `show::out` stops printing). The launcher also gets fds 0-2 opened on /dev/null where
/// they are closed, so no file it opens lands on them; a buyer's are the launcher's pipes.
pub(crate) fn start(role: super::Role) {
    // SAFETY: single-threaded start-up; SIG_IGN is a valid disposition for SIGPIPE.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    if role == super::Role::Buyer {
        return;
    }
    for fd in 0..=2 {
        // SAFETY: F_GETFD only asks whether the descriptor is open.
        let closed = unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1
            && io::Error::last_os_error().raw_os_error() == Some(libc::EBADF);
        if closed {
            // SAFETY: a constant C string; the lowest free descriptor is `fd`, as every lower
            // one is open by now.
            unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        }
    }
}

/// Nanoseconds on the system-wide monotonic clock (`CLOCK_MONOTONIC`): unlike
/// `std::time::Instant`, the raw value means the same in every process on the machine.
pub(crate) fn monotonic_ns() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Whether `pipe` has something to read (or was closed), waiting up to `patience` (poll).
pub(crate) fn wait_readable(pipe: &PipeReader, patience: Duration) -> io::Result<bool> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let timeout = Timespec {
        tv_sec: patience.as_secs() as _,
        tv_nsec: patience.subsec_nanos() as _,
    };
    let mut fds = [PollFd::new(pipe, PollFlags::IN)];
    loop {
        match poll(&mut fds, Some(&timeout)) {
            Ok(ready) => return Ok(ready > 0),
            Err(Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Whether stdin has something to read (or was closed), waiting up to `patience`; a signal
/// ends the wait early as `Ok(false)`.
pub(crate) fn wait_stdin(patience: Duration) -> io::Result<bool> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let timeout = Timespec {
        tv_sec: patience.as_secs() as _,
        tv_nsec: patience.subsec_nanos() as _,
    };
    let stdin = std::io::stdin();
    let mut ready = [PollFd::new(&stdin, PollFlags::IN)];
    match poll(&mut ready, Some(&timeout)) {
        Ok(n) => Ok(n > 0),
        Err(Errno::INTR) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// One read(2) of stdin, unbuffered (a signal gives `Interrupted`).
pub(crate) fn read_stdin(buf: &mut [u8]) -> io::Result<usize> {
    Ok(rustix::io::read(std::io::stdin(), buf)?)
}

/// Fd 0 as an unbuffered file (a buffered read could take bytes meant for another buyer).
pub(crate) fn raw_stdin() -> io::Result<File> {
    Ok(File::from(std::io::stdin().as_fd().try_clone_to_owned()?))
}

/// Fd 1 as an unbuffered file: one event line must be exactly one write(2).
pub(crate) fn raw_stdout() -> io::Result<File> {
    Ok(File::from(std::io::stdout().as_fd().try_clone_to_owned()?))
}

/// A path as raw bytes, to hand to another process of ours.
pub(crate) fn path_to_bytes(path: &Path) -> Vec<u8> {
    path.as_os_str().as_bytes().to_vec()
}

pub(crate) fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

/// The buyers' process group (the first buyer's pid), or 0 while there is none to kill.
static BUYERS: AtomicI32 = AtomicI32::new(0);

/// Puts a buyer about to be spawned into the buyers' process group (`first`: the group's
/// leader, `None` for the first buyer, which starts a new group), so that one signal kills
/// them all and the terminal's Ctrl-C reaches only the launcher.
pub(crate) fn join_buyers(command: &mut Command, first: Option<u32>) -> io::Result<()> {
    command.process_group(first.map_or(0, |pid| pid as i32));
    Ok(())
}

/// Records a spawned buyer; the first one's pid names the group that [`kill_buyers`] kills.
/// It joined the group when it was spawned (`join_buyers`), so this cannot fail here.
pub(crate) fn enroll_buyer(child: &Child, first: bool) {
    if first {
        BUYERS.store(child.id() as i32, Ordering::SeqCst);
    }
}

/// SIGKILLs every enrolled buyer. Async-signal-safe: one atomic load and one kill(2). The
/// group's leader is an unreaped child of ours (see [`forget_buyers`]), so the group id
/// cannot belong to anyone else.
pub(crate) fn kill_buyers() {
    if let Some(group) = Pid::from_raw(BUYERS.load(Ordering::SeqCst)) {
        let _ = rustix::process::kill_process_group(group, Signal::KILL);
    }
}

/// Forgets the buyers: called before reaping, after which the group id may belong to anyone.
pub(crate) fn forget_buyers() {
    BUYERS.store(0, Ordering::SeqCst);
}

/// The function a stop request calls (a `fn()` as a number, so a signal handler may read it).
static ON_STOP: AtomicUsize = AtomicUsize::new(0);

/// Calls `handler` on SIGINT, SIGTERM and SIGHUP (a closed terminal is a request to stop).
/// `handler` runs inside a signal handler: it may only touch atomics and call
/// [`kill_buyers`] and [`stop_at_once`].
pub(crate) fn on_stop_request(handler: fn()) {
    ON_STOP.store(handler as usize, Ordering::SeqCst);
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: `on_signal` is async-signal-safe (an atomic load, then `handler`, which
        // must be too); the sigaction struct is fully initialised before use.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as usize;
            // No SA_RESTART: a signal must cut a blocking wait (a lock, a pipe) short.
            action.sa_flags = 0;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

extern "C" fn on_signal(_signal: libc::c_int) {
    let handler = ON_STOP.load(Ordering::SeqCst);
    if handler != 0 {
        // SAFETY: the only value ever stored is a `fn()` (see `on_stop_request`).
        let handler: fn() = unsafe { std::mem::transmute::<usize, fn()>(handler) };
        handler();
    }
}

/// Says `message` on stderr and exits with `code` at once. Async-signal-safe.
pub(crate) fn stop_at_once(message: &'static [u8], code: i32) -> ! {
    // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffer is a static.
    unsafe {
        libc::write(2, message.as_ptr().cast(), message.len());
        libc::_exit(code)
    }
}

/// Whether the child `pid` has exited, without reaping it (`waitid` with `WNOWAIT`).
pub(crate) fn has_exited(pid: u32) -> bool {
    use rustix::process::{WaitId, WaitIdOptions, waitid};
    let Some(pid) = Pid::from_raw(pid as i32) else {
        return true;
    };
    let options = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
    matches!(waitid(WaitId::Pid(pid), options), Ok(Some(_)))
}

/// The signal that ended a process, if one did.
pub(crate) fn death_signal(status: &ExitStatus) -> Option<i32> {
    status.signal()
}

/// Whether a process was killed outright (SIGKILL), as `--chaos` and Ctrl-C kill buyers.
pub(crate) fn killed_outright(status: &ExitStatus) -> bool {
    status.signal() == Some(libc::SIGKILL)
}

/// A buyer must never outlive its launcher and keep buying unobserved. Linux SIGKILLs us
/// when the launcher dies; elsewhere a watcher thread notices the event pipe's far end close
/// (the launcher held the only read end) and SIGKILLs us the same way, even mid-delay when no
/// write would fail. Both catch a launcher that died before we got here.
pub(crate) fn die_with_launcher(launcher_pid: u32) {
    #[cfg(all(target_os = "linux", not(feature = "portable-unix")))]
    extras::set_parent_death_signal();
    #[cfg(not(all(target_os = "linux", not(feature = "portable-unix"))))]
    watch_event_pipe();
    if std::os::unix::process::parent_id() != launcher_pid {
        std::process::exit(0);
    }
}

/// Blocks a thread in poll(2) on fd 1 asking for nothing: a pipe's write end reports
/// POLLERR (Linux) or POLLHUP (the BSDs, macOS) once no reader is left, and then we die as
/// the parent-death signal would have killed us. Not a pipe (run by hand): nothing to watch.
#[cfg(not(all(target_os = "linux", not(feature = "portable-unix"))))]
fn watch_event_pipe() {
    use rustix::event::{PollFd, PollFlags, poll};
    let stdout = std::io::stdout();
    let is_pipe = rustix::fs::fstat(stdout.as_fd())
        .is_ok_and(|st| rustix::fs::FileType::from_raw_mode(st.st_mode as _).is_fifo());
    if !is_pipe {
        return;
    }
    std::thread::spawn(|| {
        let stdout = std::io::stdout();
        let mut fds = [PollFd::new(&stdout, PollFlags::empty())];
        loop {
            match poll(&mut fds, None) {
                Ok(_) if fds[0].revents().intersects(PollFlags::ERR | PollFlags::HUP) => {
                    kill_self()
                }
                Ok(0) | Err(Errno::INTR) => {}
                Ok(_) | Err(_) => return, // POLLNVAL or a failing poll: no pipe to watch
            }
        }
    });
}

/// Dies at once, as a SIGKILL would (fault injection): no destructors, no unlock, no flush.
pub(crate) fn kill_self() -> ! {
    let _ = rustix::process::kill_process(rustix::process::getpid(), Signal::KILL);
    unreachable!("SIGKILL cannot be caught, so it does not return")
}
