//! The one error type: what failed, where, how to fix it, and which exit code it maps to.

use std::fmt;
use std::path::Path;
use std::process::ExitCode;

/// Why a run could not complete; each kind has its own documented exit code (see README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A flag or argument is wrong (clap uses 2 for its own usage errors too).
    Usage,
    /// The data file or the order log holds something the program cannot trust.
    BadData,
    /// The filesystem or OS refused: permissions, missing directory, no lock support.
    Environment,
    /// A buyer process crashed or broke the report protocol.
    BuyerFailed,
    /// Ctrl-C or SIGTERM arrived while the launcher waited (128 + SIGINT, as shells report it).
    Interrupted,
}

impl ErrorKind {
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Usage => 2,
            ErrorKind::BadData => 3,
            ErrorKind::Environment => 4,
            ErrorKind::BuyerFailed => 5,
            ErrorKind::Interrupted => 130,
        }
    }
}

#[derive(Debug)]
pub struct Error {
    pub kind: ErrorKind,
    message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Usage, message)
    }

    pub fn bad_data(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::BadData, message)
    }

    /// An I/O failure on `path`: "failed to <action> <path>: <os error>", plus a hint when
    /// the OS error has an obvious fix.
    pub fn io(action: &str, path: &Path, err: &std::io::Error) -> Self {
        let hint = match err.kind() {
            std::io::ErrorKind::PermissionDenied => {
                "; check that you may write to this directory (or use --data elsewhere)"
            }
            std::io::ErrorKind::NotFound => "; check that the directory exists",
            _ => "",
        };
        Error::new(
            ErrorKind::Environment,
            format!("failed to {action} {}: {err}{hint}", path.display()),
        )
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.kind.exit_code())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
