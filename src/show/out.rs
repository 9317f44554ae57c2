//! The one door to stdout. A reader that went away (`grab-tickets | head -3`) or a full disk
//! ends the output, never the run in a panic: the race still finishes and settles, and the
//! exit says what happened (a closed pipe quietly, like other Unix tools).

use std::io::{self, Write};
use std::sync::Mutex;

/// The first write error, after which nothing more is written.
static FAILED: Mutex<Option<io::ErrorKind>> = Mutex::new(None);

/// `text` with every control character but the newline written as an escape (`\u{1b}`,
/// `\r`): paths, run names and store names come from users and other programs, and an
/// escape sequence or carriage return in one must not redraw or forge a line on the screen.
/// Colour alone is let through (the timeline's own SGR sequences of bold, dim, reset and the
/// sixteen foreground colours): it moves no cursor, erases nothing and hides nothing.
pub fn escaped(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\n') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let colour = colour_at(rest);
        if colour > 0 {
            out.push_str(&rest[..colour]);
            rest = &rest[colour..];
            continue;
        }
        if c.is_control() && c != '\n' {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    std::borrow::Cow::Owned(out)
}

/// The length of the colour-only SGR sequence `text` starts with (`ESC [ 1 ; 36 m`), or 0.
fn colour_at(text: &str) -> usize {
    let Some(body) = text.strip_prefix("\u{1b}[") else {
        return 0;
    };
    let Some(end) = body.find('m') else {
        return 0;
    };
    let harmless = |p: &str| {
        matches!(p.parse::<u8>(), Ok(0 | 1 | 2 | 22 | 30..=37 | 39 | 90..=97)) || p.is_empty()
    };
    if body[..end].split(';').all(harmless) {
        2 + end + 1
    } else {
        0
    }
}

/// Writes `text`, its control characters escaped (see [`escaped`]).
pub fn print(text: &str) {
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
pub fn line(text: &str) {
    print(&format!("{text}\n"));
}

/// Why stdout stopped taking output, unless it was only closed by its reader.
pub fn failure() -> Option<io::ErrorKind> {
    let failed = *FAILED.lock().unwrap_or_else(|e| e.into_inner());
    failed.filter(|kind| *kind != io::ErrorKind::BrokenPipe)
}

#[cfg(test)]
mod tests {
    use super::escaped;

    #[test]
    fn colour_passes_and_everything_else_is_escaped() {
        assert_eq!(
            escaped("\u{1b}[1m\u{1b}[36mR\u{1b}[0m"),
            "\u{1b}[1m\u{1b}[36mR\u{1b}[0m"
        );
        assert_eq!(escaped("x\u{1b}[2K\rOK"), "x\\u{1b}[2K\\rOK");
        assert_eq!(escaped("\u{1b}[8mhidden"), "\\u{1b}[8mhidden");
        assert_eq!(escaped("\u{1b}[31;1m!"), "\u{1b}[31;1m!");
        assert_eq!(escaped("a\u{7}b\n"), "a\\u{7}b\n");
    }
}
