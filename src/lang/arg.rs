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
