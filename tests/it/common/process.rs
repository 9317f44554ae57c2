//! Starting the binary with its stdout and stderr on pipes or terminals, following it while it
//! runs, and waiting for processes to end: on signals (a line, a closed pipe, a pidfd or a
//! process handle), with BACKSTOP as the only timeout. Terminals (a pty) and signals are
//! Unix's; on Windows a run has pipes only and ends by `Child::kill` (TerminateProcess).

use std::cell::OnceCell;
#[cfg(unix)]
use std::ffi::CStr;
#[cfg(unix)]
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
#[cfg(unix)]
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
#[cfg(unix)]
use std::os::unix::fs::OpenOptionsExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{BACKSTOP, DataFile, Run};

/// Where a run's stdout or stderr goes.
#[derive(Clone, Copy)]
pub(crate) enum Screen {
    Pipe,
    /// A pseudo-terminal: Unix's; a Windows console cannot be handed to a child this way.
    #[cfg(unix)]
    Terminal,
}

impl Screen {
    /// The end the test reads, and the end the child writes to.
    fn open(self) -> (Box<dyn Read + Send>, Stdio) {
        match self {
            Screen::Pipe => {
                let (ours, theirs) = io::pipe().expect("create a pipe");
                (Box::new(ours), theirs.into())
            }
            #[cfg(unix)]
            Screen::Terminal => {
                let (ours, theirs) = pty();
                (Box::new(ours), theirs.into())
            }
        }
    }
}

/// A running launcher: what it has printed so far, and ways to wait for a line, signal it
/// and finish it.
pub(crate) struct Live {
    command: String,
    data: Option<DataFile>,
    child: Child,
    lines: Receiver<Vec<u8>>,
    stdout: Vec<u8>,
    seen: Vec<String>,
    stderr: JoinHandle<Vec<u8>>,
}

impl Live {
    pub(super) fn start(
        mut cmd: Command,
        data: Option<DataFile>,
        stdout: Screen,
        stderr: Screen,
    ) -> Live {
        let (stdout, child_stdout) = stdout.open();
        let (mut stderr, child_stderr) = stderr.open();
        cmd.stdin(Stdio::null())
            .stdout(child_stdout)
            .stderr(child_stderr);
        // On Windows each launcher gets a console of its own, with no window: Ctrl-C goes to a
        // whole console, so `Live::interrupt` must reach this launcher and nothing else.
        #[cfg(windows)]
        {
            use std::os::windows::process::CommandExt as _;
            use windows_sys::Win32::System::Threading::CREATE_NO_WINDOW;
            cmd.creation_flags(CREATE_NO_WINDOW);
        }
        let command = format!("{cmd:?}");
        let child = cmd.spawn().expect("start grab-tickets");
        // Our copies of the child's ends must close, or reading would never reach the end.
        drop(cmd);
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            loop {
                let mut line = Vec::new();
                // A terminal whose far end has closed reads as EIO: the end, like EOF.
                match stdout.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if send.send(line).is_err() => break,
                    Ok(_) => {}
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut all = Vec::new();
            let _ = stderr.read_to_end(&mut all);
            all
        });
        Live {
            command,
            data,
            child,
            lines,
            stdout: Vec::new(),
            seen: Vec::new(),
            stderr,
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Reads stdout until the lines so far satisfy `done`, and returns them. Panics with
    /// what was read if stdout closes or the backstop passes first.
    pub(crate) fn wait_for(&mut self, what: &str, done: impl Fn(&[String]) -> bool) -> &[String] {
        let deadline = Instant::now() + BACKSTOP;
        while !done(&self.seen) {
            if let Err(e) = self.read_line(deadline) {
                panic!(
                    "gave up waiting for {what} ({e}); stdout so far:\n{}",
                    self.seen.join("\n")
                );
            }
        }
        &self.seen
    }

    /// Takes in the next line of stdout, unless stdout has closed or `deadline` has passed.
    fn read_line(&mut self, deadline: Instant) -> Result<(), RecvTimeoutError> {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = self.lines.recv_timeout(left)?;
        let text = String::from_utf8_lossy(&line);
        self.seen
            .push(text.trim_end_matches(['\n', '\r']).to_string());
        self.stdout.extend_from_slice(&line);
        Ok(())
    }

    #[cfg(unix)]
    pub(crate) fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on our own child, which has not been reaped yet.
        let sent = unsafe { libc::kill(self.pid() as libc::pid_t, signal) };
        assert_eq!(sent, 0, "kill: {}", io::Error::last_os_error());
    }

    /// Asks the launcher to stop as a person at its terminal would: SIGINT, Ctrl-C's signal,
    /// on Unix. On Windows, a Ctrl-C console event to the launcher's own console, sent by
    /// [`ctrl_c_sender`] in a process of its own (a process sends it only to a console it is
    /// attached to, and the test's must not change under the other tests).
    pub(crate) fn interrupt(&self) {
        #[cfg(unix)]
        self.signal(libc::SIGINT);
        #[cfg(windows)]
        {
            let sender = Command::new(std::env::current_exe().expect("the test binary's path"))
                .args(["--exact", "common::process::ctrl_c_sender"])
                .args(["--ignored", "--nocapture", "--test-threads=1"])
                .env(CTRL_C_TO, self.pid().to_string())
                .stdin(Stdio::null())
                .output()
                .expect("start the Ctrl-C sender");
            let said = String::from_utf8_lossy(&sender.stdout);
            assert!(
                said.contains(CTRL_C_SENT),
                "the Ctrl-C sender failed ({}):\n{said}{}",
                sender.status,
                String::from_utf8_lossy(&sender.stderr)
            );
        }
    }

    /// Kills the launcher outright, no handler run: SIGKILL on Unix, TerminateProcess on
    /// Windows (both what `Child::kill` does).
    pub(crate) fn kill(&mut self) {
        self.child.kill().expect("kill grab-tickets");
    }

    /// Waits for the run to end (the backstop kills it), then returns it with everything it
    /// printed.
    pub(crate) fn finish(mut self) -> Run {
        let pid = self.pid();
        if !wait_until_gone(pid, BACKSTOP) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            panic!(
                "{} ran longer than {BACKSTOP:?}; stdout so far:\n{}",
                self.command,
                self.seen.join("\n")
            );
        }
        let status = self.child.wait().expect("reap grab-tickets");
        // Stdout closes when the last process holding it (a buyer, at worst) has ended.
        let deadline = Instant::now() + BACKSTOP;
        loop {
            match self.read_line(deadline) {
                Ok(()) => {}
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!("{} left stdout open", self.command),
            }
        }
        let stderr = self.stderr.join().expect("read stderr");
        Run {
            command: self.command,
            pid,
            status,
            stdout: String::from_utf8_lossy(&self.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            data: self.data,
            report: OnceCell::new(),
        }
    }
}

/// Whether `status` is that of a process killed outright by [`Live::kill`]: SIGKILL on
/// Unix; on Windows std's TerminateProcess gives exit code 1, which is all there is to see.
pub(crate) fn killed_outright(status: &ExitStatus) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        status.signal() == Some(libc::SIGKILL)
    }
    #[cfg(windows)]
    {
        status.code() == Some(1)
    }
}

/// Waits until process `pid` has ended (a zombie nobody has reaped yet counts: it can no
/// longer act), at most `timeout`; false if it is still running then. It waits on a
/// descriptor that becomes readable the moment the process ends, so no time is spent polling.
#[cfg(unix)]
pub(crate) fn wait_until_gone(pid: u32, timeout: Duration) -> bool {
    let Some(fd) = exit_watch(pid) else {
        return true; // Already reaped.
    };
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        let mut poll = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, and that count.
        match unsafe { libc::poll(&mut poll, 1, ms) } {
            -1 if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => continue,
            -1 => panic!("poll: {}", io::Error::last_os_error()),
            ready => return ready > 0,
        }
    }
}

/// Linux: a pidfd, readable once the process has ended; none if it is already reaped.
#[cfg(target_os = "linux")]
fn exit_watch(pid: u32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        let error = io::Error::last_os_error();
        assert_eq!(
            error.raw_os_error(),
            Some(libc::ESRCH),
            "pidfd_open: {error}"
        );
        return None;
    }
    // SAFETY: pidfd_open just returned this descriptor, and nothing else owns it.
    Some(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// macOS has no pidfd: a kqueue watching the process for NOTE_EXIT is readable once it has
/// ended. Type-checked only (.ci/macos-check); no test runs on a Mac here.
#[cfg(target_vendor = "apple")]
fn exit_watch(pid: u32) -> Option<OwnedFd> {
    // SAFETY: kqueue takes nothing and returns a new descriptor or -1.
    let kq = unsafe { libc::kqueue() };
    assert!(kq >= 0, "kqueue: {}", io::Error::last_os_error());
    // SAFETY: kqueue just returned this descriptor, and nothing else owns it.
    let kq = unsafe { OwnedFd::from_raw_fd(kq) };
    let change = libc::kevent {
        ident: pid as libc::uintptr_t,
        filter: libc::EVFILT_PROC,
        flags: libc::EV_ADD | libc::EV_ONESHOT,
        fflags: libc::NOTE_EXIT,
        data: 0,
        udata: std::ptr::null_mut(),
    };
    // SAFETY: one valid change in, no event buffer out, no timeout.
    let added = unsafe {
        libc::kevent(
            kq.as_raw_fd(),
            &change,
            1,
            std::ptr::null_mut(),
            0,
            std::ptr::null(),
        )
    };
    if added < 0 {
        let error = io::Error::last_os_error();
        assert_eq!(error.raw_os_error(), Some(libc::ESRCH), "kevent: {error}");
        return None;
    }
    Some(kq)
}

/// Waits until process `pid` has ended, at most `timeout`; false if it is still running then.
/// It waits on the process's handle, signalled the moment the process ends. A pid nobody
/// holds a handle to any more may be reused, but not within one test's few seconds.
#[cfg(windows)]
pub(crate) fn wait_until_gone(pid: u32, timeout: Duration) -> bool {
    use windows_sys::Win32::Foundation::{CloseHandle, WAIT_OBJECT_0, WAIT_TIMEOUT};
    use windows_sys::Win32::System::Threading::{
        OpenProcess, PROCESS_SYNCHRONIZE, WaitForSingleObject,
    };
    // SAFETY: OpenProcess returns a new handle or null; it is closed before returning.
    unsafe {
        let process = OpenProcess(PROCESS_SYNCHRONIZE, 0, pid);
        if process.is_null() {
            return true; // No such process: it has ended and nothing holds it.
        }
        let ms = timeout.as_millis().min(u128::from(u32::MAX - 1)) as u32;
        let waited = WaitForSingleObject(process, ms);
        CloseHandle(process);
        match waited {
            WAIT_OBJECT_0 => true,
            WAIT_TIMEOUT => false,
            other => panic!(
                "WaitForSingleObject: {other} {}",
                io::Error::last_os_error()
            ),
        }
    }
}

/// The far end's name of the pty whose near end is `fd`.
#[cfg(target_os = "linux")]
fn pty_name(fd: libc::c_int) -> std::ffi::CString {
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: ptsname_r writes at most name.len() bytes, its NUL included, so the CStr ends
    // inside name.
    unsafe {
        let failed = libc::ptsname_r(fd, name.as_mut_ptr(), name.len());
        assert_eq!(
            failed,
            0,
            "ptsname_r: {}",
            io::Error::from_raw_os_error(failed)
        );
        CStr::from_ptr(name.as_ptr()).to_owned()
    }
}

/// The far end's name of the pty whose near end is `fd`. The libc crate offers macOS no
/// ptsname_r, and ptsname's buffer is shared by every thread (tests run in parallel), so this
/// asks the kernel with TIOCPTYGNAME into a buffer of its own (type-checked only).
#[cfg(target_vendor = "apple")]
fn pty_name(fd: libc::c_int) -> std::ffi::CString {
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: TIOCPTYGNAME writes a NUL-terminated name of at most 128 bytes into name.
    unsafe {
        let failed = libc::ioctl(fd, libc::TIOCPTYGNAME as _, name.as_mut_ptr());
        assert_eq!(failed, 0, "TIOCPTYGNAME: {}", io::Error::last_os_error());
        CStr::from_ptr(name.as_ptr()).to_owned()
    }
}

/// A new pseudo-terminal, 100 columns wide: the end the test reads, and the end the child
/// writes to (its terminal).
#[cfg(unix)]
fn pty() -> (File, File) {
    fn check(result: libc::c_int, what: &str) -> libc::c_int {
        assert!(result >= 0, "{what}: {}", io::Error::last_os_error());
        result
    }
    let size = libc::winsize {
        ws_row: 30,
        ws_col: 100,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: libc calls on a descriptor we own.
    let (ours, name) = unsafe {
        let fd = check(
            libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC),
            "posix_openpt",
        );
        let ours = File::from(OwnedFd::from_raw_fd(fd));
        check(libc::grantpt(fd), "grantpt");
        check(libc::unlockpt(fd), "unlockpt");
        check(libc::ioctl(fd, libc::TIOCSWINSZ, &size), "TIOCSWINSZ");
        (ours, pty_name(fd))
    };
    let theirs = File::options()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(name.to_str().expect("a pty's name is UTF-8"))
        .expect("open the pty's far end");
    (ours, theirs)
}

/// Names the launcher, by pid, that [`ctrl_c_sender`] sends Ctrl-C to.
#[cfg(windows)]
const CTRL_C_TO: &str = "GRAB_TICKETS_TEST_CTRL_C_TO";
/// What [`ctrl_c_sender`] prints once the event is on its way.
#[cfg(windows)]
const CTRL_C_SENT: &str = "ctrl-c sent";

/// Not a test: [`Live::interrupt`] runs it in a process of its own (with `CTRL_C_TO` set; with
/// it unset, it does nothing). It leaves its console, joins the launcher's, ignores Ctrl-C
/// itself and sends it to that console, as a key press there would: the launcher and its
/// buyers get it.
#[cfg(windows)]
#[test]
#[ignore = "a helper that Live::interrupt runs in a process of its own"]
fn ctrl_c_sender() {
    use windows_sys::Win32::System::Console::{
        AttachConsole, CTRL_C_EVENT, FreeConsole, GenerateConsoleCtrlEvent, SetConsoleCtrlHandler,
    };
    let Some(pid) = std::env::var(CTRL_C_TO).ok().and_then(|p| p.parse().ok()) else {
        return;
    };
    // SAFETY: plain Win32 calls on this process's own console attachment.
    unsafe {
        FreeConsole();
        assert_ne!(
            AttachConsole(pid),
            0,
            "AttachConsole({pid}): {}",
            io::Error::last_os_error()
        );
        SetConsoleCtrlHandler(None, 1);
        assert_ne!(
            GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0),
            0,
            "GenerateConsoleCtrlEvent: {}",
            io::Error::last_os_error()
        );
    }
    println!("{CTRL_C_SENT}");
}
