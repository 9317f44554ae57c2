//! Whether the server can take one connection per buyer, made sure of before anything
//! changes: a server that runs out halfway refuses the late buyers, and the race would run
//! with fewer than asked after the stock was set. First asked (the server's `max_connections`,
//! less the slots kept for superusers unless we are one, the database's and the role's
//! `CONNECTION LIMIT`, each less the connections in use now), then seen: the stock is set
//! only once every buyer's session is there.

use std::time::{Duration, Instant};

use postgres::Client;

use super::Target;
use crate::exit::{Error, Failure, Result};
use crate::lang::tr;
use crate::shop::Started;

/// Reads every limit and its use in one query: (which, limit, in use) per row; a limit of
/// -1 (the database's or the role's default) means none.
const LIMITS: &str = "
SELECT 'server', current_setting('max_connections')::int
        - CASE WHEN r.rolsuper THEN 0
          ELSE current_setting('superuser_reserved_connections')::int
             + coalesce(current_setting('reserved_connections', true)::int, 0) END,
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')
  FROM pg_roles r WHERE r.rolname = current_user
UNION ALL
SELECT 'database', d.datconnlimit,
       (SELECT count(*) FROM pg_stat_activity
         WHERE backend_type = 'client backend' AND datname = current_database())
  FROM pg_database d WHERE d.datname = current_database()
UNION ALL
SELECT 'role', r.rolconnlimit,
       (SELECT count(*) FROM pg_stat_activity
         WHERE backend_type = 'client backend' AND usename = current_user)
  FROM pg_roles r WHERE r.rolname = current_user";

/// Refuses, naming the limit and the number it could get, when `buyers` connections more
/// than this launcher's own would not fit now. Another client may still take slots between
/// this check and the buyers' logins: [`wait_for_logins`] finds that, still before the stock
/// changes.
pub(crate) fn check(client: &mut Client, target: &Target, buyers: u32) -> Result<()> {
    let rows = client
        .query(LIMITS, &[])
        .map_err(|e| target.error("read the connection limits", &e))?;
    let tightest = rows
        .iter()
        .filter_map(|row| {
            let limit: i32 = row.get(1);
            let used: i64 = row.get(2);
            (limit >= 0).then(|| (row.get::<_, &str>(0).to_string(), limit, used))
        })
        .min_by_key(|(_, limit, used)| i64::from(*limit) - used);
    let Some((which, limit, used)) = tightest else {
        return Ok(());
    };
    let free = (i64::from(limit) - used).max(0);
    if free >= i64::from(buyers) {
        return Ok(());
    }
    Err(Error::new(
        Failure::Refused,
        tr!(
            "error-pg-too-few-connections",
            shown = target.shown(),
            which = which,
            limit = limit,
            used = used,
            free = free,
            buyers = buyers
        ),
    ))
}

/// How long the buyers may take to log in: a little more than the connect timeout each of
/// them has (`Target::parse`).
const LOGIN_WAIT: Duration = Duration::from_secs(15);

/// Waits until every spawned buyer (number and pid) has its session on the server,
/// the name it logs in with (`application_name`) being how the launcher sees it. A buyer that
/// exits first, or too slow a login, refuses the race with the number that got in, before
/// the stock changes.
pub(crate) fn wait_for_logins(
    client: &mut Client,
    target: &Target,
    started: &Started,
) -> Result<()> {
    let buyers = &started.buyers;
    let names: Vec<String> = buyers
        .iter()
        .map(|&(index, pid)| super::buyer_application_name(index, pid))
        .collect();
    let deadline = Instant::now() + LOGIN_WAIT;
    loop {
        // Read before the count: a buyer seen alive here and absent below is still logging in.
        let gone = buyers.iter().any(|&(_, pid)| crate::sys::has_exited(pid));
        let in_count: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = ANY($1)",
                &[&names],
            )
            .map_err(|e| target.error("count the connections", &e))?
            .get(0);
        if in_count as usize >= names.len() {
            return Ok(());
        }
        if (started.interrupted)() {
            return Err(Error::new(
                Failure::Interrupted,
                tr!("error-pg-login-wait-interrupted", shown = target.shown()),
            ));
        }
        if gone || Instant::now() >= deadline {
            return Err(Error::new(
                Failure::Refused,
                tr!(
                    "error-pg-buyers-not-logged-in",
                    shown = target.shown(),
                    logged_in = in_count,
                    buyers = names.len()
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
