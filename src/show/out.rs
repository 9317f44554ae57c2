//! The one door to stdout. A reader that went away (`grab-tickets | head -3`) or a full disk
//! ends the output, never the run in a panic: the race still finishes and settles, and the
//! exit says what happened (a closed pipe quietly, like other Unix tools).

use std::io::{self, Write};
use std::sync::Mutex;

pub(crate) use crate::safe_text::escaped;

/// The first write error, after which nothing more is written.
static FAILED: Mutex<Option<io::ErrorKind>> = Mutex::new(None);

/// Writes `text`, its control characters escaped (see [`escaped`]).
pub(crate) fn print(text: &str) {
    let text = escaped(text);
    let mut failed = FAILED.lock().unwrap_or_else(|e| e.into_inner());
    if failed.is_some() {
        return;
    }
    let mut stdout = io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        *failed = Some(e.kind());
    }
}

/// Writes `text` and a newline.
pub(crate) fn line(text: &str) {
    print(&format!("{text}\n"));
}

/// Why stdout stopped taking output, unless it was only closed by its reader.
pub(crate) fn failure() -> Option<io::ErrorKind> {
    let failed = *FAILED.lock().unwrap_or_else(|e| e.into_inner());
    failed.filter(|kind| *kind != io::ErrorKind::BrokenPipe)
}
