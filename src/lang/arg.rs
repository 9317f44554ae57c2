//! A message's variables: counts, which pick a plural, and words.

/// A value for a message's variable: a count (which picks the plural) or a word.
pub(crate) enum Arg {
    Number(f64),
    Text(String),
}

macro_rules! whole_args {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg {
            /// Up to 2^53 a number, whose plural the catalog picks; beyond, its exact digits
            /// (an f64 shows a seq near 2^63, …775807, as …776000), whose plural is "other".
            fn from(n: $t) -> Arg {
                match (n as i128).unsigned_abs() <= 1 << 53 {
                    true => Arg::Number(n as f64),
                    false => Arg::Text(n.to_string()),
                }
            }
        }
    )*};
}
whole_args!(u8, u16, u32, u64, usize, i32, i64);

impl From<f64> for Arg {
    fn from(n: f64) -> Arg {
        Arg::Number(n)
    }
}

impl From<String> for Arg {
    fn from(text: String) -> Arg {
        Arg::Text(text)
    }
}

impl From<&String> for Arg {
    fn from(text: &String) -> Arg {
        Arg::Text(text.clone())
    }
}

impl From<&str> for Arg {
    fn from(text: &str) -> Arg {
        Arg::Text(text.to_string())
    }
}

/// A path as a word of a sentence, escaped to one line ([`crate::safe_text::one_line`]): a
/// path comes from a user or another program, and passing it as itself is the safe way, so
/// no call site has to remember the escaping.
impl From<&std::path::Path> for Arg {
    fn from(path: &std::path::Path) -> Arg {
        Arg::Text(crate::safe_text::one_line(&path.display().to_string()).into_owned())
    }
}

impl From<&std::path::PathBuf> for Arg {
    fn from(path: &std::path::PathBuf) -> Arg {
        Arg::from(path.as_path())
    }
}

/// Text from outside (another program's log line, a URL typed by a user) as a word of a
/// sentence: escaped to one line, so it cannot start a line of its own.
impl From<crate::safe_text::Outside<'_>> for Arg {
    fn from(text: crate::safe_text::Outside<'_>) -> Arg {
        Arg::Text(crate::safe_text::one_line(text.0).into_owned())
    }
}
