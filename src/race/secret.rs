//! The database password's way to a buyer: one line on the buyer's own stdin, written by the
//! launcher right after the spawn and read before the starting gun. Never the command line
//! (`ps` shows it to every user) and never the environment (`/proc/PID/environ`, inherited by
//! anything the buyer starts): a pipe is readable only by the two processes at its ends.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use crate::exit::{Error, Result};

/// The one line: `{"password":"…"}` or `{"password":null}`, JSON so that any byte of a
/// password (a newline too) stays inside it.
#[derive(Serialize, Deserialize)]
struct Line {
    password: Option<String>,
}

/// A line longer than this is not from our launcher: a buyer stops reading rather than
/// growing without end.
const MAX_LINE: usize = 64 * 1024;

/// Writes the line to a buyer's stdin pipe. The pipe's buffer takes it whole (it is far
/// smaller than a pipe's 4 KiB minimum), so this never waits for the buyer.
pub(crate) fn send(to: &mut impl Write, password: Option<&str>) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(&Line {
        password: password.map(str::to_string),
    })
    .expect("a password serializes");
    line.push(b'\n');
    to.write_all(&line)
}

/// Reads the line from stdin, a byte at a time: the starting gun's byte follows it on the
/// same pipe and must stay there. `Ok(None)` when the launcher closed the pipe first (it
/// called the race off); the inner `None` when the URL had no password.
pub(crate) fn receive(from: &mut impl Read) -> Result<Option<Option<String>>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match from.read(&mut byte) {
            Ok(0) => return Ok(None),
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) if line.len() < MAX_LINE => line.push(byte[0]),
            Ok(_) => return Err(bad_line("it is too long")),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(bad_line(&e.to_string())),
        }
    }
    let parsed: Line = serde_json::from_slice(&line).map_err(|e| bad_line(&e.to_string()))?;
    Ok(Some(parsed.password))
}

/// Only the launcher writes this pipe, so a bad line is a bug or a buyer started by hand;
/// the error never quotes the line (it may hold a password).
fn bad_line(what: &str) -> Error {
    Error::environment(crate::lang::tr!(
        "error-buyer-secret-line",
        reason = what.to_string()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_with_a_newline_arrives_whole_and_the_gun_byte_stays() {
        let mut pipe = Vec::new();
        send(&mut pipe, Some("a\nb\"c")).unwrap();
        pipe.push(b'g');
        let mut reading = &pipe[..];
        assert_eq!(
            receive(&mut reading).unwrap(),
            Some(Some("a\nb\"c".to_string()))
        );
        assert_eq!(reading, b"g");
    }

    #[test]
    fn a_closed_pipe_is_a_called_off_race() {
        assert_eq!(receive(&mut &b""[..]).unwrap(), None);
    }
}
