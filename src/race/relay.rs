//! The buyers' stderr, passed on to the launcher's with control characters escaped. A buyer
//! writes what others supplied (a path, a database's error message) and may panic with it;
//! its stderr shared the terminal raw, where an escape sequence or a carriage return in such
//! text could erase a line and forge an "OK:". Every buyer writes into one pipe; one thread
//! of the launcher reads it line by line and writes each line through `safe_text`.

use std::io::{self, BufRead, BufReader, PipeWriter, Write};
use std::thread::JoinHandle;

use crate::safe_text::escaped;

/// The pipe the buyers' stderr goes to, and the thread that passes it on.
pub(crate) struct Relay {
    /// The write end each buyer gets a copy of; dropped once they all have theirs, so the
    /// reader sees the end when the last buyer exits.
    writer: Option<PipeWriter>,
    thread: Option<JoinHandle<()>>,
}

impl Relay {
    pub(crate) fn start() -> io::Result<Relay> {
        let (reader, writer) = io::pipe()?;
        let thread = std::thread::Builder::new()
            .name("buyers' stderr".into())
            .spawn(move || pass_on(BufReader::new(reader), &mut io::stderr()))?;
        Ok(Relay {
            writer: Some(writer),
            thread: Some(thread),
        })
    }

    /// A write end for one more buyer's stderr.
    pub(crate) fn for_buyer(&self) -> io::Result<PipeWriter> {
        self.writer
            .as_ref()
            .expect("buyers are started before the relay closes")
            .try_clone()
    }

    /// Every buyer has its copy: only they hold the pipe open now.
    pub(crate) fn close(&mut self) {
        self.writer = None;
    }

    /// After the buyers are reaped: waits until the last of what they wrote is passed on, so
    /// it comes before the report.
    pub(crate) fn finish(mut self) {
        self.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Copies `from` to `to` a line at a time, each line's control characters escaped (a line
/// the writer left unfinished is finished with a newline).
fn pass_on(mut from: impl BufRead, to: &mut impl Write) {
    let mut line = Vec::new();
    loop {
        line.clear();
        match from.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                let text = text.strip_suffix('\n').unwrap_or(&text);
                let _ = writeln!(to, "{}", escaped(text));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::pass_on;

    #[test]
    fn a_buyers_stderr_cannot_erase_or_forge_a_line() {
        let mut out = Vec::new();
        pass_on(
            &b"grab-tickets: error: \x1b[2K\rOK: 3 tickets, 3 sold\nlast words"[..],
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "grab-tickets: error: \\u{1b}[2K\\rOK: 3 tickets, 3 sold\nlast words\n"
        );
    }
}
