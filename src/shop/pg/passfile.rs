//! libpq's password file, which the `postgres` crate does not read: `passfile=` in the URL,
//! else `PGPASSFILE`, else `~/.pgpass`, consulted by the launcher only when neither the URL
//! nor `PGPASSWORD` gave a password. What it finds reaches the buyers as any password does
//! (`race::secret`); no message quotes the file's contents.

use std::path::{Path, PathBuf};

use postgres::Config;
use postgres::config::Host;

use crate::settings::percent_decoded;

/// The URL without its `passfile` parameter (the `postgres` crate refuses keys it does not
/// know), and that parameter's value, percent-decoded.
pub(crate) fn split_off(url: &str) -> (String, Option<PathBuf>) {
    let Some((head, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let mut named = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let is_passfile = percent_decoded(key).eq_ignore_ascii_case("passfile");
            if is_passfile {
                named = Some(PathBuf::from(percent_decoded(value)));
            }
            !is_passfile
        })
        .collect();
    let url = match kept.is_empty() {
        true => head.to_string(),
        false => format!("{head}?{}", kept.join("&")),
    };
    (url, named)
}

/// A password file passed over, and why: libpq passes over the same files, and the reason is
/// said in the error if the server then asks for a password that nothing else gave.
#[derive(Debug, Clone)]
pub(crate) enum Skipped {
    /// Group or others may read or write it (its permission bits).
    Shared { path: PathBuf, mode: u32 },
    /// It is there but could not be read.
    Unreadable { path: PathBuf, error: String },
}

/// What the password file gave for one server, database and user.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub password: Option<String>,
    pub skipped: Option<Skipped>,
}

/// The password the file holds for `config`'s server, database and user, if any. As libpq
/// does, a file that is not there is no file, and one that others may read or that cannot
/// be read is passed over (noted in `skipped`), never a refusal: a server that asks for no
/// password needs none.
pub(crate) fn password_for(config: &Config, named: Option<PathBuf>) -> Found {
    let named = named.or_else(|| std::env::var_os("PGPASSFILE").map(PathBuf::from));
    let Some(path) = named.or_else(default_file) else {
        return Found::default();
    };
    let skipped = |skipped| Found {
        password: None,
        skipped: Some(skipped),
    };
    if let Some(mode) = shared_mode(&path) {
        return skipped(Skipped::Shared { path, mode });
    }
    match std::fs::read_to_string(&path) {
        Ok(text) => Found {
            password: lookup(&text, &wanted(config)),
            skipped: None,
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Found::default(),
        Err(e) => skipped(Skipped::Unreadable {
            path,
            error: e.to_string(),
        }),
    }
}

fn default_file() -> Option<PathBuf> {
    if cfg!(windows) {
        let appdata = std::env::var_os("APPDATA")?;
        return Some(Path::new(&appdata).join("postgresql").join("pgpass.conf"));
    }
    Some(Path::new(&std::env::var_os("HOME")?).join(".pgpass"))
}

/// The permission bits, when group or others may read or write the file (checked before it
/// is read, as libpq checks). Not a file: left to the read to say what it is.
fn shared_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let metadata = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
        let mode = metadata.permissions().mode() & 0o7777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// host, port, database and user, as a line of the file names them. A socket in one of the
/// usual directories is `localhost`, as libpq matches it.
fn wanted(config: &Config) -> [String; 4] {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        // Sockets are Unix's: the driver has no such host on Windows.
        #[cfg(unix)]
        Some(Host::Unix(dir))
            if dir == Path::new("/tmp") || dir == Path::new("/var/run/postgresql") =>
        {
            "localhost".to_string()
        }
        #[cfg(unix)]
        Some(Host::Unix(dir)) => dir.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    [
        host,
        port.to_string(),
        config.get_dbname().unwrap_or("").to_string(),
        config.get_user().unwrap_or("").to_string(),
    ]
}

/// The first line `hostname:port:database:username:password` whose four fields match (`*`
/// matches anything; `\:` and `\\` are a colon and a backslash), its password unescaped.
fn lookup(text: &str, wanted: &[String; 4]) -> Option<String> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let mut fields = Vec::new();
            let mut field = String::new();
            let mut chars = line.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => field.extend(chars.next()),
                    ':' if fields.len() < 4 => fields.push(std::mem::take(&mut field)),
                    c => field.push(c),
                }
            }
            let matches = fields.len() == 4
                && fields
                    .iter()
                    .zip(wanted)
                    .all(|(have, want)| have == "*" || have == want);
            matches.then_some(field)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_passfile_parameter_is_split_off_and_decoded() {
        assert_eq!(
            split_off("postgres://a@h/db?sslmode=disable&PassFile=%2Ftmp%2Fp&x=1"),
            (
                "postgres://a@h/db?sslmode=disable&x=1".to_string(),
                Some(PathBuf::from("/tmp/p"))
            )
        );
        assert_eq!(
            split_off("postgres://a@h/db"),
            ("postgres://a@h/db".to_string(), None)
        );
    }

    #[test]
    fn the_first_matching_line_gives_the_password_unescaped() {
        let wanted = [
            "db.example".to_string(),
            "5432".into(),
            "shop".into(),
            "ann".into(),
        ];
        let text = "# comment\nother:5432:*:ann:no\n*:5432:shop:ann:s\\:e\\\\c:ret\n*:*:*:*:late\n";
        assert_eq!(lookup(text, &wanted).as_deref(), Some("s:e\\c:ret"));
        assert_eq!(lookup("db.example:5433:*:*:x\n", &wanted), None);
    }
}
