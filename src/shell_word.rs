//! Words a person pastes back into a shell (the replay command, the "create it with:"
//! fix): quoted so the shell reads each as the one name it is, a leaf like [`crate::safe_text`].

use std::fmt::Write as _;

/// The shell a person pastes the replay command into: a POSIX shell on Unix; on Windows
/// PowerShell or cmd.exe, which share no quoting with it (cmd.exe has no single quotes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shell {
    #[cfg_attr(
        all(windows, not(test)),
        expect(dead_code, reason = "Windows prints Windows words")
    )]
    Posix,
    /// Words both PowerShell and cmd.exe read alike where that is possible.
    #[cfg_attr(
        all(unix, not(test)),
        expect(dead_code, reason = "Unix prints POSIX words")
    )]
    Windows,
}

/// A path as one word of the shell the fix is pasted into: quoted as the replay command
/// quotes it, so a path with spaces, quotes or `$(...)` names the same file when pasted back
/// (and its control characters are spelled out, so the command stays one line).
pub(crate) fn pasted(path: &std::path::Path) -> String {
    Shell::HERE.word(&path.display().to_string())
}

/// The characters PowerShell takes for a single quote: the ASCII one and the typographic ones.
const POWERSHELL_SINGLE_QUOTES: [char; 5] = ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];

impl Shell {
    #[cfg(unix)]
    pub(crate) const HERE: Shell = Shell::Posix;
    #[cfg(windows)]
    pub(crate) const HERE: Shell = Shell::Windows;

    /// `word` as one word of this shell: as it is when that is safe, else quoted.
    pub(crate) fn word(self, word: &str) -> String {
        match self {
            Shell::Posix => {
                let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:@%=,".contains(c);
                if !word.is_empty() && word.chars().all(plain) {
                    word.to_string()
                } else if word.chars().any(char::is_control) {
                    // Inside plain quotes a newline or an escape would reach the terminal
                    // raw and could draw a line of the name's choosing; bash's and zsh's
                    // $'...' spells them out and still pastes as the same name.
                    ansi_c_quoted(word)
                } else {
                    format!("'{}'", word.replace('\'', "'\\''"))
                }
            }
            Shell::Windows => {
                let plain = |c: char| c.is_ascii_alphanumeric() || "\\/._-:".contains(c);
                if !word.is_empty() && word.chars().all(plain) {
                    word.to_string()
                } else if word.contains(['%', '$', '`', '\u{201C}', '\u{201D}', '\u{201E}']) {
                    // Double quotes expand %VAR% in cmd.exe and $var in PowerShell, and
                    // PowerShell ends a double-quoted word at a typographic double quote too
                    // (which a Chinese input method types, and a Windows name may hold): only
                    // PowerShell's single quotes keep such a name as it is. It reads the
                    // typographic single quotes as quotes as well, so each is doubled.
                    let mut quoted = String::from("'");
                    for c in word.chars() {
                        quoted.push(c);
                        if POWERSHELL_SINGLE_QUOTES.contains(&c) {
                            quoted.push(c);
                        }
                    }
                    quoted.push('\'');
                    quoted
                } else {
                    format!("\"{word}\"")
                }
            }
        }
    }
}

/// `word` in bash's and zsh's `$'...'` quotes, its control characters spelled out.
fn ansi_c_quoted(word: &str) -> String {
    let mut quoted = String::from("$'");
    for c in word.chars() {
        match c {
            '\\' | '\'' => quoted.extend(['\\', c]),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            c if u32::from(c) < 0x80 && c.is_control() => {
                let _ = write!(quoted, "\\x{:02x}", u32::from(c));
            }
            c if c.is_control() => {
                let _ = write!(quoted, "\\u{:04x}", u32::from(c));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('\'');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_posix_word_is_quoted_and_spelled_out() {
        assert_eq!(
            Shell::Posix.word("my dir/it's.json"),
            "'my dir/it'\\''s.json'"
        );
        // A newline or an escape is spelled out: the command stays one line on the screen.
        assert_eq!(
            Shell::Posix.word("x\nOK: 3\u{1b}[2K'\\.json"),
            "$'x\\nOK: 3\\x1b[2K\\'\\\\.json'"
        );
    }

    #[test]
    fn a_windows_replay_command_quotes_for_powershell_and_cmd() {
        let plain = r"C:\Users\li\data.json";
        assert_eq!(Shell::Windows.word(plain), plain);
        assert_eq!(
            Shell::Windows.word(r"C:\Users\Li Wei\it's.json"),
            r#""C:\Users\Li Wei\it's.json""#
        );
        assert_eq!(
            Shell::Windows.word(r"C:\100%\$x's.json"),
            r"'C:\100%\$x''s.json'"
        );
    }

    #[test]
    fn a_windows_name_with_typographic_quotes_stays_one_powershell_word() {
        // A double-quoted word would end at “ in PowerShell: single quotes, with each kind of
        // single quote PowerShell knows doubled.
        assert_eq!(
            Shell::Windows.word("C:\\作业\\“抢票”.json"),
            "'C:\\作业\\“抢票”.json'"
        );
        assert_eq!(
            Shell::Windows.word("C:\\“Li’s” data.json"),
            "'C:\\“Li’’s” data.json'"
        );
        // A typographic single quote alone is safe inside double quotes.
        assert_eq!(
            Shell::Windows.word("C:\\Li’s data.json"),
            "\"C:\\Li’s data.json\""
        );
    }
}
