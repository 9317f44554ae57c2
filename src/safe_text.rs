//! Text that users and other programs supply (paths, run names, store names), made safe to
//! show: a leaf, so the shop's own notices and every view escape it the same way.

/// `text` with every control character but the newline written as an escape (`\u{1b}`,
/// `\r`): paths, run names and store names come from users and other programs, and an
/// escape sequence or carriage return in one must not redraw or forge a line on the screen.
/// Colour alone is let through (the timeline's own SGR sequences of bold, dim, reset and the
/// sixteen foreground colours): it moves no cursor, erases nothing and hides nothing.
pub(crate) fn escaped(text: &str) -> std::borrow::Cow<'_, str> {
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

/// `text` as one line, every control character written as an escape, the newline too
/// (`\n`) and colour too: for a value a user or another program supplied (a path, a run
/// name) placed inside the program's own sentence. The sentence's own newlines are the
/// program's and pass [`escaped`]; a newline inside a path would start a line of the
/// path's choosing ("x\nOK: 3 tickets, 3 sold").
pub(crate) fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Text from outside (another program's order-log line, a URL) as a message's variable:
/// `tr!(key, line = Outside(line))` shows it [`one_line`], never raw.
#[derive(Clone, Copy)]
pub(crate) struct Outside<'a>(pub &'a str);

/// A path as words for a sentence: [`one_line`] of how it displays.
pub(crate) trait OneLine {
    fn one_line(&self) -> String;
}

impl OneLine for std::path::Path {
    fn one_line(&self) -> String {
        one_line(&self.display().to_string()).into_owned()
    }
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

    #[test]
    fn a_supplied_value_stays_one_line() {
        use super::one_line;
        assert_eq!(one_line("x\nOK: 3 sold"), "x\\nOK: 3 sold");
        assert_eq!(one_line("\u{1b}[32mOK"), "\\u{1b}[32mOK");
        assert_eq!(one_line("测试/data.json"), "测试/data.json");
    }
}
