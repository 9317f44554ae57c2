//! The second process a probe needs: this very binary started as `grab-tickets doctor-probe
//! ROLE PATH [ARG]` (a hidden mode, like the buyer's, parsed without clap), and both ends of
//! the conversation with it: one line at a time over its stdin and stdout, with a backstop so
//! a helper that hangs (a lock that never comes) cannot hang the checkup.

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use crate::lang::tr;

/// Longest wait for one answer: far beyond any healthy probe, short enough to give up.
pub(crate) const BACKSTOP: Duration = Duration::from_secs(30);
/// The hidden command's name.
const MODE: &str = "doctor-probe";

/// What a helper process does; its name on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Takes the race's lock when told, and says whether it got it (`locks::contend`).
    Lock,
    /// Tries a flock or a record lock when told (`locks::try_kinds`).
    Kinds,
    /// Reads the data file in a loop until told to stop (`replace::read_loop`).
    Reader,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Lock => "lock",
            Role::Kinds => "kinds",
            Role::Reader => "reader",
        }
    }

    fn from_name(name: &str) -> Option<Role> {
        [Role::Lock, Role::Kinds, Role::Reader]
            .into_iter()
            .find(|r| r.name() == name)
    }
}

/// The helper this process was started as, if it is one: its role, path and extra argument.
pub(crate) struct Assignment {
    pub role: Role,
    pub path: PathBuf,
    pub arg: Option<String>,
}

/// `grab-tickets doctor-probe ROLE PATH [ARG]`, if that is this process's command line.
pub(crate) fn assignment() -> Option<Assignment> {
    let mut args = std::env::args_os().skip(1);
    if args.next()? != MODE {
        return None;
    }
    let role = Role::from_name(args.next()?.to_str()?)?;
    let path = PathBuf::from(args.next()?);
    let arg = args.next().and_then(|a| a.into_string().ok());
    Some(Assignment { role, path, arg })
}

/// The checkup's side of one helper process.
pub(crate) struct Helper {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

/// Why a helper gave no usable answer.
#[derive(Debug)]
pub(crate) struct Silence(pub String);

impl From<io::Error> for Silence {
    fn from(e: io::Error) -> Silence {
        Silence(e.to_string())
    }
}

impl Helper {
    /// Starts this binary as a helper in `role` on `path`.
    pub(crate) fn spawn(role: Role, path: &Path, arg: Option<&str>) -> Result<Helper, Silence> {
        let exe = std::env::current_exe()?;
        let mut args: Vec<OsString> = vec![MODE.into(), role.name().into(), path.into()];
        args.extend(arg.map(OsString::from));
        let mut child = Command::new(exe)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // Everything it has to say comes on stdout, as a line; nothing reaches the user.
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Helper {
            stdin: child.stdin.take(),
            child,
            lines,
        })
    }

    /// Tells the helper `line`.
    pub(crate) fn say(&mut self, line: &str) -> Result<(), Silence> {
        let ended = || Silence(tr!("doctor-helper-ended"));
        let stdin = self.stdin.as_mut().ok_or_else(ended)?;
        writeln!(stdin, "{line}")?;
        stdin.flush()?;
        Ok(())
    }

    /// The helper's next line, waiting up to the backstop. A line `failed WHY` is its error.
    pub(crate) fn hear(&self) -> Result<String, Silence> {
        match self.lines.recv_timeout(BACKSTOP) {
            Ok(line) => match line.strip_prefix("failed ") {
                Some(why) => Err(Silence(why.to_string())),
                None => Ok(line),
            },
            Err(mpsc::RecvTimeoutError::Timeout) => {
                Err(Silence(tr!("doctor-helper-silent", s = BACKSTOP.as_secs())))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(Silence(tr!("doctor-helper-ended"))),
        }
    }

    /// Hears one line and checks it is `expected`.
    pub(crate) fn expect(&self, expected: &str) -> Result<(), Silence> {
        let line = self.hear()?;
        if line == expected {
            Ok(())
        } else {
            Err(Silence(tr!(
                "doctor-helper-unexpected",
                said = format!("{line:?}"),
                due = format!("{expected:?}")
            )))
        }
    }

    /// Closes its stdin (the helper's signal to end) and hears its last line.
    pub(crate) fn finish(&mut self) -> Result<String, Silence> {
        self.stdin = None;
        self.hear()
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        // It ends by itself once stdin closes; one that does not, is ended.
        self.stdin = None;
        if matches!(self.child.try_wait(), Ok(None)) {
            let deadline = std::time::Instant::now() + Duration::from_secs(2);
            while std::time::Instant::now() < deadline {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The helper's side: says `line` to the checkup.
pub(crate) fn tell(line: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The helper's side: the checkup's next line; `None` once it closed stdin (or died).
pub(crate) fn heard() -> Option<String> {
    let mut line = String::new();
    match io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end().to_string()),
    }
}
