//! The PostgreSQL store: the stock is one row, the ledger is an orders table, and the lock is
//! the database's own. This file owns what both sides share: the URL, logging in, the schema,
//! the SQL, and the server's errors in our words. `store` is a buyer's side, `lock` its lock,
//! `books` the launcher's side, `gate` the record of the races running.

pub(crate) mod books;
pub(crate) mod foreign;
pub(crate) mod gate;
pub(crate) mod lock;
mod passfile;
pub(crate) mod room;
pub(crate) mod store;

use std::str::FromStr;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::{Client, Config, NoTls, SimpleQueryMessage};

use crate::exit::{Error, Failure, Result};
use crate::lang::tr;
use crate::safe_text::{OneLine, Outside, one_line};
use crate::settings::{Durability, without_password};

/// The advisory lock's number: any 64-bit value will do, so it spells "grabtick" in ASCII to
/// stay clear of other applications' numbers in a shared database.
pub(crate) const ADVISORY_KEY: i64 = 0x6772_6162_7469_636b;
/// Serializes launchers that create the tables at the same moment.
const SCHEMA_KEY: i64 = ADVISORY_KEY + 1;

/// A schema of our own, so `stock` and `orders` never collide with an application's tables.
/// The orders table mirrors the order log line for line and is never pruned: `id` is its
/// position (assigned under the stock row's lock, so in commit order), `seq` the stock's
/// change number as the writer saw it (repeated when a `--no-lock` race writes stale counts).
const SCHEMA: &str = "
CREATE SCHEMA IF NOT EXISTS grab_tickets;
CREATE TABLE IF NOT EXISTS grab_tickets.stock (
    id int PRIMARY KEY CHECK (id = 1),
    ticket_num bigint NOT NULL CHECK (ticket_num >= 0),
    seq bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS grab_tickets.orders (
    id bigserial PRIMARY KEY,
    seq bigint NOT NULL,
    kind text NOT NULL CHECK (kind IN ('restock', 'order')),
    run text NOT NULL,
    buyer int NOT NULL,
    pid int NOT NULL,
    before bigint NOT NULL,
    after bigint NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);";

/// The count and its change number.
pub(crate) const READ_STOCK: &str = "SELECT ticket_num, seq FROM grab_tickets.stock WHERE id = 1";

/// A sale decided by the buyer: the stock row says `$1` (the count it saw, minus one), and
/// the order is recorded, in one statement. The UPDATE comes first so the row lock is held
/// when the order gets its `id`: ids follow the order in which sales commit.
/// Parameters: after, seq, run, buyer, pid, before.
pub(crate) const WRITE_ORDER: &str = "
WITH changed AS (
    UPDATE grab_tickets.stock SET ticket_num = $1, seq = $2 WHERE id = 1 RETURNING seq
)
INSERT INTO grab_tickets.orders (seq, kind, run, buyer, pid, before, after)
SELECT seq, 'order', $3, $4, $5, $6, $1 FROM changed";

/// `--atomic`: the database decides, on the count as it is when the statement runs.
/// Parameters: run, buyer, pid. Returns seq, before, after; no row when sold out.
pub(crate) const SELL_IF_ANY: &str = "
WITH sold AS (
    UPDATE grab_tickets.stock SET ticket_num = ticket_num - 1, seq = seq + 1
    WHERE id = 1 AND ticket_num > 0
    RETURNING seq, ticket_num
)
INSERT INTO grab_tickets.orders (seq, kind, run, buyer, pid, before, after)
SELECT seq, 'order', $1, $2, $3, ticket_num + 1, ticket_num FROM sold
RETURNING seq, before, after";

/// The stock as one read saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PgStock {
    pub ticket_num: u64,
    pub seq: u64,
}

impl super::Snapshot for PgStock {
    fn ticket_num(&self) -> u64 {
        self.ticket_num
    }

    fn seq(&self) -> u64 {
        self.seq
    }
}

/// A database named by `--store`: how to reach it, and how to name it in messages.
#[derive(Clone)]
pub(crate) struct Target {
    config: Config,
    /// The URL without its password.
    shown: String,
    /// The URL's `passfile` parameter, read only by [`Target::with_passfile`].
    passfile: Option<std::path::PathBuf>,
    /// The password file passed over, if one was: why a server asking for a password got none.
    skipped: Option<passfile::Skipped>,
}

impl Target {
    /// Parses a `postgres://` URL; a password may also come from `PGPASSWORD`, as for psql
    /// (or from a password file: [`Target::with_passfile`]).
    /// `--no-fsync` becomes `synchronous_commit = off`: a COMMIT then returns before the
    /// server has flushed it, and a server crash may lose confirmed sales (never corrupt).
    pub(crate) fn parse(url: &str, durability: Durability) -> Result<Target> {
        // Shown in every message about the store: escaped once here, so a newline in the
        // URL cannot start a line of its own in any of them.
        let shown = one_line(&without_password(url)).into_owned();
        let usage =
            |what: String| Error::usage(tr!("error-pg-store-url", url = &shown, what = what));
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(usage(tr!("pg-url-not-postgres")));
        }
        let (url, passfile) = passfile::split_off(url);
        let mut config = Config::from_str(&url).map_err(|e| usage(chain(&e)))?;
        if config.get_hosts().is_empty() {
            return Err(usage(tr!("pg-url-no-host")));
        }
        if config.get_dbname().is_none() {
            return Err(usage(tr!("pg-url-no-database")));
        }
        if config.get_password().is_none()
            && let Ok(password) = std::env::var("PGPASSWORD")
        {
            config.password(password);
        }
        if durability == Durability::NoFsync {
            config.options("-c synchronous_commit=off");
        }
        config.connect_timeout(Duration::from_secs(10));
        Ok(Target {
            config,
            shown,
            passfile,
            skipped: None,
        })
    }

    /// The launcher's target: with no password in the URL or PGPASSWORD, the one libpq's
    /// password file holds for this server, database and user, if any.
    pub(crate) fn with_passfile(mut self) -> Target {
        if self.config.get_password().is_none() {
            let found = passfile::password_for(&self.config, self.passfile.take());
            if let Some(password) = found.password {
                self.config.password(password);
            }
            self.skipped = found.skipped;
        }
        self
    }

    /// The URL as it may be printed.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// The password, if any, to hand to buyers on their stdin (`race::secret`), never on
    /// their command line (which any user can read in `ps`) or in their environment.
    pub(crate) fn password(&self) -> Option<String> {
        let bytes = self.config.get_password()?;
        Some(String::from_utf8_lossy(bytes).into_owned())
    }

    /// A buyer's target: the URL it was given has no password, and the launcher's comes here.
    pub(crate) fn with_password(mut self, password: Option<String>) -> Target {
        if let Some(password) = password {
            self.config.password(password);
        }
        self
    }

    /// Opens one connection, named `who` in `pg_stat_activity`: that name is how a waiter
    /// learns who holds the lock.
    pub(crate) fn connect(&self, who: &str) -> Result<Client> {
        let mut config = self.config.clone();
        config.application_name(who);
        config.connect(NoTls).map_err(|e| self.connect_error(&e))
    }

    fn connect_error(&self, e: &postgres::Error) -> Error {
        let shown = &self.shown;
        let message = match e.as_db_error() {
            Some(db)
                if [
                    SqlState::INVALID_PASSWORD,
                    SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
                ]
                .contains(db.code()) =>
            {
                tr!(
                    "error-pg-login",
                    target = shown,
                    error = Outside(db.message())
                )
            }
            Some(db) if db.code() == &SqlState::INVALID_CATALOG_NAME => {
                tr!(
                    "error-pg-no-database",
                    target = shown,
                    error = Outside(db.message())
                )
            }
            Some(db) => tr!(
                "error-pg-connect",
                target = shown,
                error = Outside(db.message())
            ),
            // The cause sits in the error's source chain ("invalid configuration: ...").
            None if chain(e).contains("password missing") => self.password_missing(),
            None if chain(e).contains("TLS") => {
                tr!("error-pg-no-tls", target = shown, error = chain(e))
            }
            None => tr!("error-pg-not-running", target = shown, error = chain(e)),
        };
        Error::new(Failure::Refused, message)
    }

    /// The server asks for a password and none was given; if a password file was passed
    /// over, why, and how to make it count.
    fn password_missing(&self) -> String {
        let target = &self.shown;
        match &self.skipped {
            None => tr!("error-pg-password-missing", target = target),
            Some(passfile::Skipped::Shared { path, mode }) => tr!(
                "error-pg-password-missing-passfile-shared",
                target = target,
                path = path.one_line(),
                mode = format!("{mode:04o}"),
                command = format!("chmod 600 {}", crate::shell_word::pasted(path))
            ),
            Some(passfile::Skipped::Unreadable { path, error }) => tr!(
                "error-pg-password-missing-passfile-unreadable",
                target = target,
                path = path.one_line(),
                error = error.as_str()
            ),
        }
    }

    /// A failure while talking to the server, in our words: `action` says what we were doing.
    pub(crate) fn error(&self, action: &str, e: &postgres::Error) -> Error {
        let shown = &self.shown;
        if is_connection_loss(e) {
            return Error::new(
                Failure::LostConnection,
                tr!(
                    "error-pg-lost-connection",
                    target = shown,
                    action = pg_action(action),
                    error = chain(e)
                ),
            );
        }
        Error::new(
            Failure::Refused,
            tr!(
                "error-pg-failed",
                action = pg_action(action),
                target = shown,
                error = chain(e)
            ),
        )
    }
}

/// What we were doing, in the chosen language: `action` is its English words, which are
/// also its catalog key ("read the stock" is pg-read-the-stock).
fn pg_action(action: &str) -> String {
    crate::lang::message_or(&format!("pg-{}", action.replace(' ', "-")), action)
}

/// Whether `e` means the connection is gone (the server stopped or restarted, the network
/// failed), rather than the server refusing one statement.
pub(crate) fn is_connection_loss(e: &postgres::Error) -> bool {
    let shutdown = [
        SqlState::ADMIN_SHUTDOWN,
        SqlState::CRASH_SHUTDOWN,
        SqlState::CANNOT_CONNECT_NOW,
    ];
    e.is_closed()
        || e.code().is_some_and(|code| shutdown.contains(code))
        || (e.as_db_error().is_none() && std::error::Error::source(e).is_some())
}

/// "error text: its cause: its cause", on one line: the server's and the driver's words,
/// which may quote a name from the URL (a database's), escaped as any text from outside.
fn chain(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return one_line(db.message()).into_owned();
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    one_line(&text).into_owned()
}

/// Creates the schema if it is missing. Several launchers may start at once, and
/// `CREATE ... IF NOT EXISTS` is not safe against itself, so they queue on an advisory lock.
pub(crate) fn create_tables(client: &mut Client, target: &Target) -> Result<()> {
    client
        .batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({SCHEMA_KEY}); {SCHEMA} {} COMMIT;",
            gate::RACES_TABLE
        ))
        .map_err(|e| target.error("create the grab_tickets tables", &e))
}

/// The columns grab-tickets creates, as `information_schema` names their types. A table
/// changed by hand is found here, before anything changes, rather than by buyers whose
/// statements no longer fit it (they would fail before the gun, as if they could not log in).
const COLUMNS: [(&str, &str, &str); 12] = [
    ("stock", "id", "integer"),
    ("stock", "ticket_num", "bigint"),
    ("stock", "seq", "bigint"),
    ("orders", "id", "bigint"),
    ("orders", "seq", "bigint"),
    ("orders", "kind", "text"),
    ("orders", "run", "text"),
    ("orders", "buyer", "integer"),
    ("orders", "pid", "integer"),
    ("orders", "before", "bigint"),
    ("orders", "after", "bigint"),
    ("orders", "at", "timestamp with time zone"),
];

/// Refuses tables whose columns are not the ones grab-tickets made (bad data, exit 3).
pub(crate) fn check_columns(client: &mut Client, target: &Target) -> Result<()> {
    let rows = client
        .query(
            "SELECT table_name::text, column_name::text, data_type::text \
             FROM information_schema.columns \
             WHERE table_schema = 'grab_tickets' AND table_name IN ('stock', 'orders')",
            &[],
        )
        .map_err(|e| target.error("read the grab_tickets tables", &e))?;
    for (table, column, expected) in COLUMNS {
        let found = rows
            .iter()
            .find(|row| row.get::<_, &str>(0) == table && row.get::<_, &str>(1) == column)
            .map(|row| row.get::<_, String>(2));
        if found.as_deref() != Some(expected) {
            return Err(Error::bad_data(tr!(
                "error-pg-column-changed",
                table = format!("grab_tickets.{table}"),
                column = column,
                shown = target.shown(),
                found = found.unwrap_or_else(|| tr!("pg-column-missing")),
                expected = expected
            )));
        }
    }
    Ok(())
}

/// The stock row from a simple (text) query's rows, if there was one.
pub(crate) fn stock_from_text(messages: &[SimpleQueryMessage]) -> Option<PgStock> {
    messages.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(row) => Some(PgStock {
            ticket_num: row.get(0)?.parse().ok()?,
            seq: row.get(1)?.parse().ok()?,
        }),
        _ => None,
    })
}

/// The stock row from a typed query.
/// The stock row, checked like the data file: a count or seq that is negative (the CHECK
/// dropped by hand) or not a whole number (the column's type changed) is bad data, never a
/// huge unsigned number the buyers would sell from forever.
pub(crate) fn stock_from_row(row: &postgres::Row) -> Result<PgStock> {
    let whole = |column: usize, name: &str| -> Result<u64> {
        let value = row.try_get::<_, i64>(column).map_err(|_| {
            Error::bad_data(tr!("error-pg-stock-not-whole", column = name.to_string()))
        })?;
        u64::try_from(value).map_err(|_| {
            Error::bad_data(tr!(
                "error-pg-stock-negative",
                column = name.to_string(),
                value = value.to_string()
            ))
        })
    };
    Ok(PgStock {
        ticket_num: whole(0, "ticket_num")?,
        seq: whole(1, "seq")?,
    })
}

/// What to say when the stock row is missing: nobody has set a stock in this database yet.
pub(crate) fn no_stock(target: &Target) -> Error {
    Error::bad_data(tr!("error-pg-no-stock", target = target.shown()))
}

/// What a buyer says when the stock row is missing: the launcher set it (or found it) before
/// the race, so someone deleted it since; `--keep-stock` is no fix for a run that never used it.
pub(crate) fn stock_gone(target: &Target) -> Error {
    Error::bad_data(tr!("error-pg-stock-gone", target = target.shown()))
}

/// The connection's name in `pg_stat_activity`: who a waiter is waiting for.
pub(crate) fn application_name(role: &str) -> String {
    format!("grab-tickets {role} pid {}", std::process::id())
}

/// The name buyer `index` (process `pid`) logs in with: how the launcher sees it is in.
pub(crate) fn buyer_application_name(index: u32, pid: u32) -> String {
    format!("grab-tickets buyer-{index} pid {pid}")
}

/// The pid in a name made by [`application_name`].
pub(crate) fn pid_in_application_name(name: &str) -> Option<u32> {
    name.rsplit_once(" pid ")?.1.parse().ok()
}
