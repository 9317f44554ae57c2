//! The database's locks, taken inside an open transaction and released by its end (COMMIT or
//! ROLLBACK, or the server's rollback when a client dies): the stock row's lock
//! (`SELECT ... FOR UPDATE`) or an advisory lock on [`ADVISORY_KEY`]. Like the file lock, it
//! is tried first so that a wait is noticed and told once, with the holder's pid.

use std::time::Duration;

use postgres::Client;
use postgres::error::SqlState;

use super::{ADVISORY_KEY, PgStock, READ_STOCK, Target, pid_in_application_name, stock_from_text};
use crate::exit::Result;
use crate::settings::DbLock;

/// How taking the lock went.
pub(crate) enum Locked {
    /// Held; with the row lock, the row as the lock returned it (saves a read).
    Held { row: Option<PgStock>, waited: bool },
    /// `lock_timeout` ran out while `holder` kept it; the transaction is aborted.
    TimedOut { holder: Option<u32> },
}

/// Begins a transaction and takes `kind` in it. `on_wait(holder)` is told once if the lock is
/// busy; without it the lock is simply waited for (one round trip in all).
pub(crate) fn begin_and_lock(
    client: &mut Client,
    target: &Target,
    kind: DbLock,
    timeout: Option<Duration>,
    on_wait: Option<&dyn Fn(Option<u32>)>,
) -> Result<Locked> {
    // lock_timeout only bounds the blocking wait; SET LOCAL ends with the transaction.
    // PostgreSQL reads 0 as "no limit", so a zero timeout is the shortest wait it has.
    let begin = match timeout {
        Some(limit) => format!(
            "BEGIN; SET LOCAL lock_timeout = '{}ms';",
            limit.as_millis().max(1)
        ),
        None => "BEGIN;".to_string(),
    };
    let Some(on_wait) = on_wait else {
        return blocking(client, target, kind, &begin, false);
    };
    // SKIP LOCKED and pg_try_advisory_xact_lock answer "busy" without an error, so the
    // transaction stays usable for the blocking wait that follows.
    let tried = match kind {
        DbLock::Row => format!("{begin} {READ_STOCK} FOR UPDATE SKIP LOCKED"),
        DbLock::Advisory => format!("{begin} SELECT pg_try_advisory_xact_lock({ADVISORY_KEY})"),
    };
    let messages = client
        .simple_query(&tried)
        .map_err(|e| target.error("take the lock", &e))?;
    match kind {
        DbLock::Row => {
            if let Some(row) = stock_from_text(&messages) {
                return Ok(Locked::Held {
                    row: Some(row),
                    waited: false,
                });
            }
        }
        DbLock::Advisory => {
            if first_value(&messages).as_deref() == Some("t") {
                return Ok(Locked::Held {
                    row: None,
                    waited: false,
                });
            }
        }
    }
    on_wait(holder(client, kind));
    blocking(client, target, kind, "", true)
}

/// Waits for the lock; `begin` opens the transaction unless it is open already.
fn blocking(
    client: &mut Client,
    target: &Target,
    kind: DbLock,
    begin: &str,
    waited: bool,
) -> Result<Locked> {
    let wait = match kind {
        DbLock::Row => format!("{begin} {READ_STOCK} FOR UPDATE"),
        DbLock::Advisory => format!("{begin} SELECT pg_advisory_xact_lock({ADVISORY_KEY})"),
    };
    match client.simple_query(&wait) {
        Ok(messages) => Ok(Locked::Held {
            row: stock_from_text(&messages),
            waited,
        }),
        Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => {
            let _ = client.batch_execute("ROLLBACK");
            Ok(Locked::TimedOut {
                holder: holder(client, kind),
            })
        }
        Err(e) => Err(target.error("take the lock", &e)),
    }
}

/// The pid of the process holding `kind`, from its connection's application_name. A hint for
/// messages (it may have let go a moment ago), never used for decisions.
pub(crate) fn holder(client: &mut Client, kind: DbLock) -> Option<u32> {
    let query = match kind {
        // A row lock is recorded in the row itself: xmax names the locking transaction, and
        // that transaction holds a lock on its own id.
        DbLock::Row => "SELECT a.application_name FROM pg_locks l \
             JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock' AND l.granted \
             AND l.transactionid = (SELECT xmax FROM grab_tickets.stock WHERE id = 1)"
            .to_string(),
        // A bigint advisory key is stored as two 32-bit halves. Advisory locks belong to a
        // database, and pg_locks lists every database's: another shop's race on the same
        // server holds the same key in its own database without blocking ours.
        DbLock::Advisory => format!(
            "SELECT a.application_name FROM pg_locks l \
             JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND (l.classid::bigint << 32 | l.objid::bigint) = {ADVISORY_KEY}"
        ),
    };
    let messages = client.simple_query(&query).ok()?;
    pid_in_application_name(&first_value(&messages)?)
}

fn first_value(messages: &[postgres::SimpleQueryMessage]) -> Option<String> {
    messages.iter().find_map(|m| match m {
        postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
        _ => None,
    })
}
