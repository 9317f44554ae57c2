//! Win32's processes and time: the shared clock (QueryPerformanceCounter), the event pipe's
//! ends (PeekNamedPipe where Unix polls), the launcher's job object (it and every process it
//! starts) and the console's Ctrl-C.

use std::fs::File;
use std::io::{self, PipeReader, Read as _};
use std::os::windows::ffi::{OsStrExt as _, OsStringExt as _};
use std::os::windows::io::{AsHandle as _, AsRawHandle as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_BROKEN_PIPE, HANDLE, TRUE, WAIT_OBJECT_0, WAIT_TIMEOUT,
};
use windows_sys::Win32::Storage::FileSystem::{FILE_TYPE_PIPE, GetFileType, WriteFile};
use windows_sys::Win32::System::Console::{
    CTRL_BREAK_EVENT, CTRL_C_EVENT, CTRL_CLOSE_EVENT, GetStdHandle, STD_ERROR_HANDLE,
    STD_INPUT_HANDLE, SetConsoleCtrlHandler,
};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, IsProcessInJob, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    JOBOBJECT_BASIC_PROCESS_ID_LIST, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
    JobObjectBasicProcessIdList, JobObjectExtendedLimitInformation, QueryInformationJobObject,
    SetInformationJobObject,
};
use windows_sys::Win32::System::Performance::{QueryPerformanceCounter, QueryPerformanceFrequency};
use windows_sys::Win32::System::Pipes::PeekNamedPipe;
use windows_sys::Win32::System::Threading::{
    CREATE_NEW_PROCESS_GROUP, ExitProcess, GetCurrentProcess, OpenProcess,
    PROCESS_QUERY_INFORMATION, PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_SYNCHRONIZE,
    PROCESS_TERMINATE, TerminateProcess, WaitForSingleObject,
};

/// The exit code of a process we killed outright (TerminateProcess):
/// Windows has no signals, so this code plays SIGKILL's part ("KILL" in ASCII).
const KILLED: u32 = 0x4B49_4C4C;

/// Windows runs std's own start-up (`main.rs` has a C `main` only on Unix): nothing to add.
pub(crate) fn start(_role: super::Role) {}

/// Nanoseconds on QueryPerformanceCounter: one counter for the whole machine, so a value
/// taken in one process means the same in every other (std's `Instant` promises nothing).
pub(crate) fn monotonic_ns() -> u64 {
    let (mut count, mut freq) = (0i64, 0i64);
    // SAFETY: both write one i64; they cannot fail on Windows XP and later.
    unsafe {
        QueryPerformanceCounter(&mut count);
        QueryPerformanceFrequency(&mut freq);
    }
    (count as u128 * 1_000_000_000 / freq.max(1) as u128) as u64
}

/// Whether the pipe behind `handle` has bytes (or was closed), checking every millisecond up
/// to `patience`: anonymous pipes on Windows cannot be waited on, only peeked at.
fn peek_until(handle: HANDLE, patience: Duration) -> io::Result<bool> {
    let until = Instant::now() + patience;
    loop {
        let mut available = 0u32;
        // SAFETY: `handle` is an open pipe; only the count is asked for.
        let ok = unsafe {
            PeekNamedPipe(
                handle,
                std::ptr::null_mut(),
                0,
                std::ptr::null_mut(),
                &mut available,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            let err = io::Error::last_os_error();
            // A closed pipe is "readable": the read that follows sees its end.
            return match err.raw_os_error().map(|c| c as u32) {
                Some(ERROR_BROKEN_PIPE) => Ok(true),
                _ => Err(err),
            };
        }
        if available > 0 {
            return Ok(true);
        }
        if Instant::now() >= until {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

pub(crate) fn wait_readable(pipe: &PipeReader, patience: Duration) -> io::Result<bool> {
    peek_until(pipe.as_raw_handle() as HANDLE, patience)
}

/// Whether stdin has something to read, waiting up to `patience`: a pipe is peeked at, a
/// console waited on; a file is always ready.
pub(crate) fn wait_stdin(patience: Duration) -> io::Result<bool> {
    // SAFETY: GetStdHandle and GetFileType only look at the process's stdin handle.
    let handle = unsafe { GetStdHandle(STD_INPUT_HANDLE) };
    if unsafe { GetFileType(handle) } == FILE_TYPE_PIPE {
        return peek_until(handle, patience);
    }
    let ms = patience.as_millis().min(u32::MAX as u128) as u32;
    // SAFETY: as above; a console input handle is waitable.
    match unsafe { WaitForSingleObject(handle, ms) } {
        WAIT_TIMEOUT => Ok(false),
        _ => Ok(true),
    }
}

/// One read of stdin (std's console translation included).
pub(crate) fn read_stdin(buf: &mut [u8]) -> io::Result<usize> {
    std::io::stdin().read(buf)
}

pub(crate) fn raw_stdin() -> io::Result<File> {
    Ok(File::from(
        std::io::stdin().as_handle().try_clone_to_owned()?,
    ))
}

/// Stdout as an unbuffered file: one event line must be exactly one WriteFile.
pub(crate) fn raw_stdout() -> io::Result<File> {
    Ok(File::from(
        std::io::stdout().as_handle().try_clone_to_owned()?,
    ))
}

/// A path as raw bytes (UTF-16 little-endian, unpaired surrogates kept), for another process.
pub(crate) fn path_to_bytes(path: &Path) -> Vec<u8> {
    path.as_os_str()
        .encode_wide()
        .flat_map(u16::to_le_bytes)
        .collect()
}

pub(crate) fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    let wide: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    PathBuf::from(std::ffi::OsString::from_wide(&wide))
}

/// The launcher's job object (a HANDLE as a number), or 0 until the first race makes it.
static JOB: AtomicUsize = AtomicUsize::new(0);

/// Whether a race's buyers are running, so that [`kill_buyers`] has someone to kill.
static ARMED: AtomicBool = AtomicBool::new(false);

/// Starts each buyer in a new console process group, so the console's Ctrl-C reaches only
/// the launcher, which then kills the buyers (as the Unix process group does); and makes
/// sure the launcher is in its job first, so the buyer is in it from its creation.
pub(crate) fn join_buyers(command: &mut Command, first: Option<u32>) -> io::Result<()> {
    use std::os::windows::process::CommandExt as _;
    let _ = first;
    job()?;
    command.creation_flags(CREATE_NEW_PROCESS_GROUP);
    Ok(())
}

/// The job object the launcher and every process it starts belong to, with
/// JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE: the launcher holds its only handle, so when the
/// launcher dies, whatever kills it, the job closes and every buyer dies. The launcher joins
/// it itself rather than adding each buyer after CreateProcess: a child is put in its
/// parent's job as it is created, so no launcher killed mid-spawn leaves a buyer outside
/// (under Wine such a buyer hung half-started for ever, holding the launcher's handles).
fn job() -> io::Result<HANDLE> {
    let existing = JOB.load(Ordering::SeqCst);
    if existing != 0 {
        return Ok(existing as HANDLE);
    }
    // SAFETY: an anonymous job with default security; the limit struct is zeroed but for
    // the one flag; the handle is closed again if the job cannot be set up.
    unsafe {
        let job = CreateJobObjectW(std::ptr::null(), std::ptr::null());
        if job.is_null() {
            return Err(io::Error::last_os_error());
        }
        let mut limits: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = std::mem::zeroed();
        limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        let set = SetInformationJobObject(
            job,
            JobObjectExtendedLimitInformation,
            (&raw const limits).cast(),
            size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
        );
        if set == 0 || AssignProcessToJobObject(job, GetCurrentProcess()) == 0 {
            let err = io::Error::last_os_error();
            CloseHandle(job);
            return Err(err);
        }
        JOB.store(job as usize, Ordering::SeqCst);
        Ok(job)
    }
}

/// A spawned buyer is in the launcher's job already (see [`job`]): this only arms
/// [`kill_buyers`].
pub(crate) fn enroll_buyer(child: &Child, first: bool) {
    let _ = (child, first);
    ARMED.store(true, Ordering::SeqCst);
}

/// Kills every process of the launcher's job but the launcher (TerminateProcess on each id
/// the job lists): the buyers, anything a buyer started, and any other process the launcher
/// started (a doctor probe, say), which has no business outliving an interrupt either. Safe from the Ctrl-C handler,
/// which Windows runs on a thread of its own.
pub(crate) fn kill_buyers() {
    let job = JOB.load(Ordering::SeqCst);
    if job == 0 || !ARMED.load(Ordering::SeqCst) {
        return;
    }
    let me = std::process::id() as usize;
    for pid in job_members(job as HANDLE) {
        if pid == me {
            continue;
        }
        // SAFETY: the handle is closed before the next. Windows has no zombies: a buyer the
        // main thread reaped since the job listed it frees its pid for any new process, so
        // the process opened is terminated only if it is still in the job. IsProcessInJob
        // asks for PROCESS_QUERY_INFORMATION: Windows lets the limited right do, Wine does
        // not (it fails, so no buyer was ever killed on Ctrl-C there).
        unsafe {
            let process = OpenProcess(PROCESS_TERMINATE | PROCESS_QUERY_INFORMATION, 0, pid as u32);
            if !process.is_null() {
                let mut in_job = 0;
                if IsProcessInJob(process, job as HANDLE, &mut in_job) != 0 && in_job != 0 {
                    TerminateProcess(process, KILLED);
                }
                CloseHandle(process);
            }
        }
    }
}

/// The ids of the processes in `job` (QueryInformationJobObject's process id list).
fn job_members(job: HANDLE) -> Vec<usize> {
    const ROOM: usize = 4096;
    let header = size_of::<JOBOBJECT_BASIC_PROCESS_ID_LIST>() / size_of::<usize>();
    let mut buf = vec![0usize; header + ROOM];
    // SAFETY: `buf` is usize-aligned and large enough for the header and ROOM ids, as its
    // length in bytes tells the call.
    let listed = unsafe {
        QueryInformationJobObject(
            job,
            JobObjectBasicProcessIdList,
            buf.as_mut_ptr().cast(),
            (buf.len() * size_of::<usize>()) as u32,
            std::ptr::null_mut(),
        )
    };
    if listed == 0 {
        return Vec::new();
    }
    // SAFETY: the call filled the header at the start of `buf`.
    let list = unsafe { &*buf.as_ptr().cast::<JOBOBJECT_BASIC_PROCESS_ID_LIST>() };
    let count = (list.NumberOfProcessIdsInList as usize).min(ROOM);
    let first =
        std::mem::offset_of!(JOBOBJECT_BASIC_PROCESS_ID_LIST, ProcessIdList) / size_of::<usize>();
    buf[first..first + count].to_vec()
}

/// Disarms [`kill_buyers`]: the next race arms it again. The launcher stays in its job,
/// whose handle is closed only at exit, which kills any process still in it, as intended.
pub(crate) fn forget_buyers() {
    ARMED.store(false, Ordering::SeqCst);
}

static ON_STOP: AtomicUsize = AtomicUsize::new(0);

/// Calls `handler` on Ctrl-C, Ctrl-Break and a closed console (SetConsoleCtrlHandler).
pub(crate) fn on_stop_request(handler: fn()) {
    ON_STOP.store(handler as usize, Ordering::SeqCst);
    // SAFETY: `on_console_event` is a valid handler for the life of the process.
    unsafe { SetConsoleCtrlHandler(Some(on_console_event), TRUE) };
}

unsafe extern "system" fn on_console_event(event: u32) -> i32 {
    if !matches!(event, CTRL_C_EVENT | CTRL_BREAK_EVENT | CTRL_CLOSE_EVENT) {
        return 0;
    }
    let handler = ON_STOP.load(Ordering::SeqCst);
    if handler != 0 {
        // SAFETY: the only value ever stored is a `fn()` (see `on_stop_request`).
        let handler: fn() = unsafe { std::mem::transmute::<usize, fn()>(handler) };
        handler();
    }
    TRUE
}

/// Says `message` on stderr and exits with `code` at once.
pub(crate) fn stop_at_once(message: &'static [u8], code: i32) -> ! {
    // SAFETY: a plain write to stderr's handle, then ExitProcess, which does not return.
    unsafe {
        let err = GetStdHandle(STD_ERROR_HANDLE);
        let mut written = 0u32;
        WriteFile(
            err,
            message.as_ptr(),
            message.len() as u32,
            &mut written,
            std::ptr::null_mut(),
        );
        ExitProcess(code as u32)
    }
}

/// Whether the process `pid` has exited (its handle is signalled), without reaping it.
pub(crate) fn has_exited(pid: u32) -> bool {
    // SAFETY: the handle is closed before returning.
    unsafe {
        let process = OpenProcess(
            PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_SYNCHRONIZE,
            0,
            pid,
        );
        if process.is_null() {
            return true;
        }
        let exited = WaitForSingleObject(process, 0) == WAIT_OBJECT_0;
        CloseHandle(process);
        exited
    }
}

/// Windows ends processes without signals. Our own kill ([`KILLED`]) is the seam's SIGKILL,
/// so it is reported as signal 9 and the report reads as on Unix; any other ending (Task
/// Manager's kill gives exit code 1) is an exit with that code, for nothing tells them apart.
pub(crate) fn death_signal(status: &ExitStatus) -> Option<i32> {
    killed_outright(status).then_some(9)
}

/// Whether a process was killed outright: its exit code is [`KILLED`], which only
/// TerminateProcess/TerminateJobObject from us give.
pub(crate) fn killed_outright(status: &ExitStatus) -> bool {
    status.code().map(|c| c as u32) == Some(KILLED)
}

/// A buyer must never outlive its launcher: the job object kills it when the launcher dies;
/// a launcher that died before the buyer joined is caught here.
pub(crate) fn die_with_launcher(launcher_pid: u32) {
    if has_exited(launcher_pid) {
        std::process::exit(0);
    }
}

/// Dies at once (fault injection): no destructors, no unlock, no flush.
pub(crate) fn kill_self() -> ! {
    // SAFETY: terminating the current process does not return.
    unsafe { TerminateProcess(GetCurrentProcess(), KILLED) };
    unreachable!("TerminateProcess on ourselves does not return")
}
