//! How a run ends: the one [`Exit`] enum that owns every exit status (README's table), and
//! the error type that says what failed, where, and how to fix it.

use std::fmt;
use std::path::Path;
use std::process::ExitCode;

/// Every way the program can end, each with its documented exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The race ran and, with `--check`, reconciled: 0.
    Success,
    /// `--check` found the run oversold or not reconciling: 1.
    CheckFailed,
    /// A flag or argument is wrong: 2 (clap uses 2 for its own usage errors too).
    Usage,
    /// The data file or the order log holds something the program cannot trust: 3.
    BadData,
    /// The filesystem or OS refused: permissions, missing directory, no lock support: 4.
    Environment,
    /// A buyer process crashed or broke the report protocol: 5.
    BuyerFailed,
    /// Ctrl-C or SIGTERM: 130, that is 128 + SIGINT, as shells report it.
    Interrupted,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::CheckFailed => 1,
            Exit::Usage => 2,
            Exit::BadData => 3,
            Exit::Environment => 4,
            Exit::BuyerFailed => 5,
            Exit::Interrupted => 130,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

/// Why a run could not complete, and the exit status that says so.
#[derive(Debug)]
pub struct Error {
    pub exit: Exit,
    message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Error {
            exit,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Error::new(Exit::Usage, message)
    }

    pub fn bad_data(message: impl Into<String>) -> Self {
        Error::new(Exit::BadData, message)
    }

    pub fn environment(message: impl Into<String>) -> Self {
        Error::new(Exit::Environment, message)
    }

    /// An I/O failure on `path`: `failed to ACTION PATH: OS ERROR`, plus a hint when
    /// the OS error has an obvious fix.
    pub fn io(action: &str, path: &Path, err: &std::io::Error) -> Self {
        let hint = match err.kind() {
            std::io::ErrorKind::PermissionDenied => {
                "; check that you may write to this directory (or use --data elsewhere)"
            }
            std::io::ErrorKind::NotFound => "; check that the directory exists",
            _ => "",
        };
        Error::environment(format!("failed to {action} {}: {err}{hint}", shown(path)))
    }
}

/// A path for a message: a relative one says what it is relative to, since the same words
/// mean another file in another directory.
pub fn shown(path: &Path) -> String {
    match std::env::current_dir() {
        Ok(cwd) if path.is_relative() => {
            format!("{} (relative to {})", path.display(), cwd.display())
        }
        _ => path.display().to_string(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
