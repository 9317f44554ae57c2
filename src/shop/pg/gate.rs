//! The database's race gate: every racing launcher records its mode in `grab_tickets.races`
//! and holds a session advisory lock on its row, so another launcher can tell which races are
//! running and how they buy before it changes anything. The lock is the record's life: a
//! launcher that dies loses its connection, the server frees the lock, and the row is stale
//! (ignored, and deleted by the next launcher), so a dead launcher never blocks anyone.

use postgres::Client;

use super::{ADVISORY_KEY, Target};
use crate::exit::{Error, Result};
use crate::lang::tr;
use crate::settings::{DbLock, LockScope, Method};

/// Serializes launchers between reading the running races and recording their own, so two
/// that start at once cannot both miss each other.
const GATE_KEY: i64 = ADVISORY_KEY + 2;
/// The first half of every race's session lock (the two-number form of advisory locks, so it
/// never meets a buyer's one-number lock); the second half is the race's row id.
const GATE_CLASS: i32 = 0x6761_7465; // "gate"

/// Whether a race's own promise holds against others that keep theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Safety {
    /// Each ticket sold once: the whole purchase under a lock, or the database decides.
    Safe,
    /// It writes counts it read without a lock: it may oversell, and make others oversell.
    Unlocked,
}

/// How a race's buyers buy, as the gate records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RaceMode {
    Locked(DbLock),
    Atomic,
    Serializable,
    /// `--lock-scope write`: the lock around the write only.
    WriteOnly(DbLock),
    NoLock,
}

impl RaceMode {
    pub(crate) fn of(method: Method, scope: LockScope, lock: DbLock) -> RaceMode {
        match (method, scope) {
            (Method::Atomic, _) => RaceMode::Atomic,
            (Method::Serializable, _) => RaceMode::Serializable,
            (Method::ReadCheckWrite, LockScope::Whole) => RaceMode::Locked(lock),
            (Method::ReadCheckWrite, LockScope::Write) => RaceMode::WriteOnly(lock),
            (Method::ReadCheckWrite, LockScope::None) => RaceMode::NoLock,
        }
    }

    /// Every safe mode's write is correct beside every other safe mode's: each is made under
    /// the stock row's lock (the advisory holder takes it too) or checked by the server.
    pub(crate) fn safety(self) -> Safety {
        match self {
            RaceMode::Locked(_) | RaceMode::Atomic | RaceMode::Serializable => Safety::Safe,
            RaceMode::WriteOnly(_) | RaceMode::NoLock => Safety::Unlocked,
        }
    }

    /// The flags that choose this mode: what the table records and what messages name.
    pub(crate) fn flags(self) -> &'static str {
        match self {
            RaceMode::Locked(DbLock::Row) => "--db-lock row",
            RaceMode::Locked(DbLock::Advisory) => "--db-lock advisory",
            RaceMode::Atomic => "--atomic",
            RaceMode::Serializable => "--serializable",
            RaceMode::WriteOnly(DbLock::Row) => "--lock-scope write --db-lock row",
            RaceMode::WriteOnly(DbLock::Advisory) => "--lock-scope write --db-lock advisory",
            RaceMode::NoLock => "--no-lock",
        }
    }

    fn from_flags(flags: &str) -> Option<RaceMode> {
        let all = [
            RaceMode::Locked(DbLock::Row),
            RaceMode::Locked(DbLock::Advisory),
            RaceMode::Atomic,
            RaceMode::Serializable,
            RaceMode::WriteOnly(DbLock::Row),
            RaceMode::WriteOnly(DbLock::Advisory),
            RaceMode::NoLock,
        ];
        all.into_iter().find(|mode| mode.flags() == flags)
    }
}

/// A race another launcher is running on this database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Running {
    pub run: String,
    pub launcher: u32,
    /// None: a mode this version does not know (a newer launcher's); treated as unlocked.
    pub mode: Option<RaceMode>,
}

impl Running {
    fn safety(&self) -> Safety {
        self.mode.map_or(Safety::Unlocked, RaceMode::safety)
    }

    fn flags(&self) -> &str {
        self.mode.map_or("?", RaceMode::flags)
    }
}

/// What entering the gate found.
pub(crate) enum Entered {
    /// No race running, or only races this one can share the stock with.
    Alone,
    /// This unlocked race joins a locked one, which it may oversell: the lesson, told plainly.
    BesideLocked(Running),
}

/// This launcher's record, while its race runs.
pub(crate) struct Pass {
    id: i64,
}

/// The table of running races; created with the others (`pg::SCHEMA`).
pub(crate) const RACES_TABLE: &str = "
CREATE TABLE IF NOT EXISTS grab_tickets.races (
    id bigserial PRIMARY KEY,
    run text NOT NULL,
    mode text NOT NULL,
    launcher int NOT NULL,
    started timestamptz NOT NULL DEFAULT now()
);";

/// A race whose launcher still holds its session lock, in this database.
fn alive(negate: &str) -> String {
    format!(
        "{negate} EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted \
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND l.classid = {GATE_CLASS}::oid AND l.objid = (r.id % 2147483647)::oid \
         AND l.objsubid = 2)"
    )
}

/// Reads the running races and, unless this one may not share the stock with them, records
/// it; a refusal changes nothing (the stale rows' clean-up is rolled back with it).
pub(crate) fn enter(
    client: &mut Client,
    target: &Target,
    mode: RaceMode,
    run: &str,
) -> Result<(Pass, Entered)> {
    let error = |e: postgres::Error| target.error("record the race", &e);
    let mut transaction = client.transaction().map_err(error)?;
    transaction
        .batch_execute(&format!(
            "SELECT pg_advisory_xact_lock({GATE_KEY}); \
             DELETE FROM grab_tickets.races r WHERE {};",
            alive("NOT")
        ))
        .map_err(error)?;
    let running: Vec<Running> = transaction
        .query(
            &format!(
                "SELECT r.run, r.mode, r.launcher FROM grab_tickets.races r WHERE {} \
                 ORDER BY r.id",
                alive("")
            ),
            &[],
        )
        .map_err(error)?
        .iter()
        .map(|row| Running {
            run: row.get(0),
            mode: RaceMode::from_flags(row.get(1)),
            launcher: row.get::<_, i32>(2) as u32,
        })
        .collect();
    let entered = match decide(mode, &running) {
        Ok(entered) => entered,
        Err(unlocked) => {
            drop(transaction); // rolled back
            return Err(refusal(target, mode, &unlocked));
        }
    };
    let row = transaction
        .query_one(
            "INSERT INTO grab_tickets.races (run, mode, launcher) VALUES ($1, $2, $3) \
             RETURNING id",
            &[&run, &mode.flags(), &(std::process::id() as i32)],
        )
        .map_err(error)?;
    let id: i64 = row.get(0);
    // A session lock taken inside the transaction outlives it: it lasts as long as the
    // connection, which is exactly as long as this launcher.
    transaction
        .execute(
            &format!("SELECT pg_advisory_lock({GATE_CLASS}, ($1::bigint % 2147483647)::int)"),
            &[&id],
        )
        .map_err(error)?;
    transaction.commit().map_err(error)?;
    Ok((Pass { id }, entered))
}

/// A safe race refuses to start beside an unlocked one (its promise cannot hold); an unlocked
/// one may start beside a locked one (the lesson), and is told.
fn decide(mode: RaceMode, running: &[Running]) -> std::result::Result<Entered, Running> {
    match mode.safety() {
        Safety::Safe => match running.iter().find(|r| r.safety() == Safety::Unlocked) {
            Some(unlocked) => Err(unlocked.clone()),
            None => Ok(Entered::Alone),
        },
        Safety::Unlocked => Ok(running
            .iter()
            .find(|r| r.safety() == Safety::Safe)
            .map_or(Entered::Alone, |locked| {
                Entered::BesideLocked(locked.clone())
            })),
    }
}

fn refusal(target: &Target, mode: RaceMode, unlocked: &Running) -> Error {
    Error::environment(tr!(
        "error-pg-race-beside-unlocked",
        shown = target.shown(),
        run = crate::safe_text::one_line(&unlocked.run).as_ref(),
        pid = unlocked.launcher,
        theirs = unlocked.flags(),
        mine = mode.flags()
    ))
}

/// The line an unlocked race beside a locked one prints before it starts.
pub(crate) fn beside_locked_line(target: &Target, mode: RaceMode, locked: &Running) -> String {
    tr!(
        "launcher-unlocked-beside-locked",
        shown = target.shown(),
        run = crate::safe_text::one_line(&locked.run).as_ref(),
        pid = locked.launcher,
        theirs = locked.flags(),
        mine = mode.flags()
    )
}

/// Ends the record when the race is over. Best effort: if this fails (the server went away),
/// the lock went with the connection and the row is stale already.
pub(crate) fn leave(client: &mut Client, pass: Pass) {
    let _ = client.execute(
        &format!("SELECT pg_advisory_unlock({GATE_CLASS}, ($1::bigint % 2147483647)::int)"),
        &[&pass.id],
    );
    let _ = client.execute("DELETE FROM grab_tickets.races WHERE id = $1", &[&pass.id]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running(mode: RaceMode) -> Running {
        Running {
            run: "r".to_string(),
            launcher: 1,
            mode: Some(mode),
        }
    }

    #[test]
    fn safe_modes_share_and_a_safe_one_refuses_only_an_unlocked_one() {
        let safe = [
            RaceMode::Locked(DbLock::Row),
            RaceMode::Locked(DbLock::Advisory),
            RaceMode::Atomic,
            RaceMode::Serializable,
        ];
        for mine in safe {
            for theirs in safe {
                assert!(matches!(
                    decide(mine, &[running(theirs)]),
                    Ok(Entered::Alone)
                ));
            }
            assert!(decide(mine, &[running(RaceMode::NoLock)]).is_err());
            assert!(decide(mine, &[running(RaceMode::WriteOnly(DbLock::Row))]).is_err());
        }
        assert!(matches!(
            decide(RaceMode::NoLock, &[running(RaceMode::Atomic)]),
            Ok(Entered::BesideLocked(_))
        ));
        assert!(matches!(
            decide(RaceMode::NoLock, &[running(RaceMode::NoLock)]),
            Ok(Entered::Alone)
        ));
    }

    #[test]
    fn every_mode_is_read_back_from_its_flags() {
        for mode in [
            RaceMode::Locked(DbLock::Advisory),
            RaceMode::WriteOnly(DbLock::Advisory),
            RaceMode::NoLock,
        ] {
            assert_eq!(RaceMode::from_flags(mode.flags()), Some(mode));
        }
    }
}
