//! How a run ends: the one [`Exit`] enum that owns every exit status (docs/exit-codes.md's table), and
//! the error type that says what failed, where, and how to fix it, with the [`Failure`] kind
//! that views decide on (never the message's words).

use crate::safe_text::OneLine;
use std::fmt;
use std::path::Path;
use std::process::ExitCode;

use serde::{Deserialize, Serialize};

use crate::lang::tr;

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

/// What kind of failure stopped a run or a buyer: the fact a view decides on, whatever the
/// message says. Each kind has one exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// A flag or argument is wrong (or a schedule does not fit the race).
    Usage,
    /// The data file, the order log or the stock holds something that cannot be trusted.
    BadData,
    /// The stock was changed outside the lock protocol (the data file or the stock row edited
    /// by hand during or between races): it disagrees with its ledger. Bad data, exit 3.
    ChangedOutside,
    /// The filesystem or the OS refused: permissions, a missing directory, no lock support.
    Environment,
    /// The disk (or a quota, or a file-size limit) is full.
    DiskFull,
    /// The database server refused us: not there, the login, the database, a statement.
    Refused,
    /// The connection to the database went away mid-run (the server stopped or restarted,
    /// the network failed): the server rolls back what was not committed.
    LostConnection,
    /// Ctrl-C or SIGTERM cut a wait short.
    Interrupted,
    /// A buyer process crashed or broke the report or step protocol.
    Buyer,
}

impl Failure {
    /// The exit status that reports this kind of failure.
    pub fn exit(self) -> Exit {
        match self {
            Failure::Usage => Exit::Usage,
            Failure::BadData | Failure::ChangedOutside => Exit::BadData,
            Failure::Environment
            | Failure::DiskFull
            | Failure::Refused
            | Failure::LostConnection => Exit::Environment,
            Failure::Interrupted => Exit::Interrupted,
            Failure::Buyer => Exit::BuyerFailed,
        }
    }
}

/// Why a run could not complete: what kind of failure (which decides the exit status) and
/// the message that says what failed, where, and how to fix it.
#[derive(Debug)]
pub struct Error {
    kind: Failure,
    message: String,
}

pub(crate) type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(kind: Failure, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Error::new(Failure::Usage, message)
    }

    pub fn bad_data(message: impl Into<String>) -> Self {
        Error::new(Failure::BadData, message)
    }

    /// The stock disagrees with its ledger: someone changed it without the lock protocol.
    pub fn changed_outside(message: impl Into<String>) -> Self {
        Error::new(Failure::ChangedOutside, message)
    }

    pub fn environment(message: impl Into<String>) -> Self {
        Error::new(Failure::Environment, message)
    }

    /// A buyer crashed or broke a protocol.
    pub fn buyer(message: impl Into<String>) -> Self {
        Error::new(Failure::Buyer, message)
    }

    pub fn kind(&self) -> Failure {
        self.kind
    }

    pub fn exit(&self) -> Exit {
        self.kind.exit()
    }

    /// An I/O failure on `path`: `failed to ACTION PATH: OS ERROR`, plus a hint when
    /// the OS error has an obvious fix.
    pub fn io(action: &str, path: &Path, err: &std::io::Error) -> Self {
        let hint = match err.kind() {
            std::io::ErrorKind::PermissionDenied => tr!("error-hint-permission"),
            std::io::ErrorKind::NotFound => tr!("error-hint-not-found"),
            _ => String::new(),
        };
        let kind = match err.kind() {
            std::io::ErrorKind::StorageFull
            | std::io::ErrorKind::QuotaExceeded
            | std::io::ErrorKind::FileTooLarge => Failure::DiskFull,
            _ => Failure::Environment,
        };
        // The action is a catalog key made of its English words ("read data file" is
        // io-read-data-file), so the sentence reads whole in either language.
        let key = format!("io-{}", action.replace(' ', "-"));
        let message = tr!(
            "error-io",
            action = crate::lang::message_or(&key, action),
            path = shown(path),
            error = err.to_string(),
            hint = hint
        );
        Error::new(kind, message)
    }
}

/// A path for a message: a relative one says what it is relative to, since the same words
/// mean another file in another directory.
pub(crate) fn shown(path: &Path) -> String {
    match std::env::current_dir() {
        Ok(cwd) if path.is_relative() => {
            tr!(
                "shown-relative",
                path = path.one_line(),
                cwd = cwd.one_line()
            )
        }
        _ => path.one_line(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_a_kind_of_its_own_whatever_the_words() {
        for kind in [
            std::io::ErrorKind::StorageFull,
            std::io::ErrorKind::QuotaExceeded,
            std::io::ErrorKind::FileTooLarge,
        ] {
            let e = Error::io("append to order log", Path::new("/d.orders"), &kind.into());
            assert_eq!(e.kind(), Failure::DiskFull, "{e}");
            assert_eq!(e.exit(), Exit::Environment);
        }
        let denied = std::io::ErrorKind::PermissionDenied.into();
        let e = Error::io("create temp file", Path::new("/d.tmp"), &denied);
        assert_eq!(e.kind(), Failure::Environment);
    }

    #[test]
    fn each_failure_kind_has_its_exit_status() {
        assert_eq!(Failure::Usage.exit().code(), 2);
        assert_eq!(Failure::BadData.exit().code(), 3);
        assert_eq!(Failure::LostConnection.exit().code(), 4);
        assert_eq!(Failure::Refused.exit().code(), 4);
        assert_eq!(Failure::Buyer.exit().code(), 5);
        assert_eq!(Failure::Interrupted.exit().code(), 130);
    }
}
