//! Where the stock lives and what a database store is asked to do: the data file or a
//! PostgreSQL URL (never printed with its password), its lock, and how a sale is decided.

use serde::{Deserialize, Serialize};

/// Where the stock lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StoreAt {
    /// The data file, beside its lock file and order log (the embedded default).
    DataFile,
    /// A PostgreSQL database, named by a `postgres://USER@HOST:PORT/DB` URL. Buyers on many
    /// machines can share it; the lock is the database's own.
    Postgres { url: String },
}

/// Which lock the database store takes for `--lock-scope whole` and `write`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DbLock {
    /// `SELECT ... FOR UPDATE` on the stock row, in a transaction held across the delay.
    Row,
    /// `pg_advisory_xact_lock`: a lock on a number, the closest analogue of flock.
    Advisory,
}

/// How a purchase decides that a ticket is left. The race's way reads, waits and writes back
/// (safe only under a whole-purchase lock); a database can also decide by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Method {
    /// Read the count, delay, check, write `count - 1`, under `--lock-scope`.
    ReadCheckWrite,
    /// `--atomic`: one conditional `UPDATE ... WHERE ticket_num > 0`; no read-then-write.
    Atomic,
    /// `--serializable`: read, delay and write in a SERIALIZABLE transaction, retried when the
    /// database aborts it for a conflict.
    Serializable,
}

/// `postgres://user:secret@host/db?password=x&passfile=f` → `postgres://user@host/db`: the
/// URL as it may be printed or put on a buyer's command line. The password is dropped wherever
/// the URL parser would find it: in the userinfo and in a `password` or `passfile` parameter
/// (its key percent-decoded and in any case, so `%70assword=` is dropped too).
pub(crate) fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            format!("{user}@{host}")
        }
        None => authority.to_string(),
    };
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty() && !names_a_secret(pair))
        .collect();
    let query = if kept.is_empty() {
        String::new()
    } else {
        format!("?{}", kept.join("&"))
    };
    format!("{scheme}://{authority}{path}{query}")
}

/// Whether a `key=value` query pair carries a password (or where one is kept).
fn names_a_secret(pair: &str) -> bool {
    let key = pair.split_once('=').map_or(pair, |(key, _)| key);
    let key = percent_decoded(key).to_ascii_lowercase();
    key == "password" || key == "passfile"
}

/// `text` with its `%XX` escapes decoded (invalid UTF-8 replaced).
pub(crate) fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_a_database_url_is_never_shown() {
        assert_eq!(
            without_password("postgres://ann:s3cr@t@db.example:5432/shop?x=1"),
            "postgres://ann@db.example:5432/shop?x=1"
        );
        assert_eq!(
            without_password("postgres://ann@%2Ftmp%2Fpg:5433/shop"),
            "postgres://ann@%2Ftmp%2Fpg:5433/shop"
        );
        assert_eq!(without_password("postgres://host/db"), "postgres://host/db");
        assert_eq!(
            without_password("postgres://ann@h/db?sslmode=disable&password=s3cr&x=1"),
            "postgres://ann@h/db?sslmode=disable&x=1"
        );
        assert_eq!(
            without_password("postgres://ann@h/db?%70assword=s3cr&PassFile=/p"),
            "postgres://ann@h/db"
        );
        assert_eq!(
            without_password("postgres://ann:a@h?password=b"),
            "postgres://ann@h"
        );
    }
}
