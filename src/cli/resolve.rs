//! The command line resolved: defaults filled in, every range checked once (`bounds`), and
//! flags that only make sense together checked together, into [`Settings`] or an
//! [`Exploration`].

use super::args::{
    DbLockArg, DoctorArgs, ExploreArgs, LockArgs, ModelArg, RaceArgs, SamplerArg, ScopeArg,
};
use super::bounds::{BUYERS, DEPTH, SAMPLES, TICKETS};
use crate::exit::{Error, Result};
use crate::lang::tr;
use crate::settings::{
    Answer, Checkup, DbLock, DelayRange, Durability, Exploration, LockScope, MAX_BUYERS,
    MAX_EXPLORED_BUYERS, Method, Output, PerBuyer, Persistence, Restock, Rules, Sampler, Schedule,
    Search, Settings, StepKill, StoreAt,
};

impl LockArgs {
    /// `--no-lock` is `--lock-scope none`.
    fn scope(&self) -> LockScope {
        match (self.no_lock, self.lock_scope) {
            (true, _) | (false, ScopeArg::None) => LockScope::None,
            (false, ScopeArg::Write) => LockScope::Write,
            (false, ScopeArg::Whole) => LockScope::Whole,
        }
    }
}

impl DoctorArgs {
    pub(crate) fn into_checkup(self) -> Checkup {
        let answer = match self.json {
            true => Answer::Json,
            false => Answer::Text,
        };
        Checkup {
            data: self.data,
            answer,
        }
    }
}

impl RaceArgs {
    /// Checks ranges clap cannot express and resolves defaults.
    pub(crate) fn into_settings(self) -> Result<Settings> {
        let named = self.schedule.as_ref().map_or(0, Schedule::buyers);
        let buyers = match self.buyers {
            Some(buyers) => BUYERS.check(u64::from(buyers), "")? as u32,
            None if named > 0 => named,
            None => 10,
        };
        TICKETS.check(self.tickets, "")?;
        let method = self.method();
        // clap's `requires = "store"` is not checked once `--data` is given (`--store`
        // conflicts with it), so the refusal is said here, before anything changes.
        if !matches!(method, Method::ReadCheckWrite) && self.store.is_none() {
            return Err(Error::usage(tr!("error-atomic-needs-store")));
        }
        // The database's own answers take no lock of ours.
        let scope = match method {
            Method::ReadCheckWrite => self.lock.scope(),
            Method::Atomic | Method::Serializable => LockScope::None,
        };
        if let Some(schedule) = &self.schedule {
            check_schedule(schedule, buyers, scope, self.per_buyer)?;
        }
        check_kill_at(&self.kill_at, buyers, self.per_buyer)?;
        let rules = Rules {
            scope,
            method,
            durability: durability(self.no_fsync),
            lock_timeout_ms: self.lock_timeout,
        };
        let restock = if self.keep_stock {
            Restock::Keep
        } else {
            Restock::To(self.tickets)
        };
        // In a stepped race the schedule decides every move; a delay would only slow it.
        let delay = match self.schedule {
            Some(_) => DelayRange { lo_ms: 0, hi_ms: 0 },
            None => self.delay_ms,
        };
        // Small enough to retype: the report prints it so any run can be replayed.
        let seed = self
            .seed
            .unwrap_or_else(|| rand::random_range(0..1_000_000));
        let output = self.output();
        let store = match self.store {
            Some(url) => StoreAt::Postgres { url },
            None => StoreAt::DataFile,
        };
        let db_lock = match self.db_lock {
            DbLockArg::Row => DbLock::Row,
            DbLockArg::Advisory => DbLock::Advisory,
        };
        Ok(Settings::new(self.data, buyers, restock, rules)
            .with_delay(delay, seed)
            .with_per_buyer(self.per_buyer)
            .with_output(output, self.check)
            .with_faults(self.chaos, self.kill_at)
            .with_files(self.trace, self.html)
            .with_store(store, db_lock)
            .with_schedule(self.schedule))
    }

    fn method(&self) -> Method {
        match (self.atomic, self.serializable) {
            (true, _) => Method::Atomic,
            (false, true) => Method::Serializable,
            (false, false) => Method::ReadCheckWrite,
        }
    }

    fn output(&self) -> Output {
        match (self.json, self.quiet, self.verbose) {
            (true, _, _) => Output::Json,
            (false, true, _) => Output::Quiet,
            (false, false, true) => Output::Verbose,
            (false, false, false) => Output::Text,
        }
    }
}

/// `--schedule` against the race: it names no buyer beyond `--buyers`, and each buyer's moves
/// are moves a buyer makes under the lock scope.
fn check_schedule(
    schedule: &Schedule,
    buyers: u32,
    scope: LockScope,
    per_buyer: PerBuyer,
) -> Result<()> {
    let named = schedule.buyers();
    if named > buyers {
        return Err(Error::usage(tr!(
            "error-schedule-too-few-buyers",
            named = named.to_string(),
            buyers = buyers.to_string()
        )));
    }
    schedule.check_moves(scope, per_buyer).map_err(|e| {
        Error::usage(tr!(
            "error-schedule-moves",
            schedule = schedule.to_string(),
            error = e
        ))
    })
}

/// `--kill-at` against the race: a buyer or an attempt that does not exist would kill nobody
/// and say nothing, so it is refused before anything is touched.
fn check_kill_at(kills: &[StepKill], buyers: u32, per_buyer: PerBuyer) -> Result<()> {
    for kill in kills {
        let named = format!("{}:{}", kill.buyer, kill.step);
        if kill.buyer > buyers {
            return Err(Error::usage(tr!(
                "error-kill-at-no-buyer",
                kill = named,
                buyer = kill.buyer,
                buyers = buyers
            )));
        }
        if let PerBuyer::Count(attempts) = per_buyer
            && kill.attempt > attempts
        {
            return Err(Error::usage(tr!(
                "error-kill-at-no-attempt",
                kill = format!("{named}:{}", kill.attempt),
                attempt = kill.attempt,
                attempts = attempts
            )));
        }
    }
    Ok(())
}

fn durability(no_fsync: bool) -> Durability {
    if no_fsync {
        Durability::NoFsync
    } else {
        Durability::Fsync
    }
}

/// Two demotions per sample: enough for a read to be overtaken and then some.
const DEFAULT_DEPTH: u32 = 3;
/// `--interactive` asks for a buyer by number: more than this is not a game any more.
const MAX_INTERACTIVE_BUYERS: u32 = 9;

impl ExploreArgs {
    /// Checks ranges clap cannot express and resolves defaults.
    pub(crate) fn into_exploration(self) -> Result<Exploration> {
        let search = match (self.random, self.interactive) {
            (Some(samples), _) => Search::Random {
                samples,
                seed: self
                    .seed
                    .unwrap_or_else(|| rand::random_range(0..1_000_000)),
                sampler: match (self.sampler, self.depth) {
                    (Some(SamplerArg::Uniform), Some(_)) => {
                        return Err(Error::usage(tr!("error-depth-with-uniform")));
                    }
                    (Some(SamplerArg::Uniform) | None, None) => Sampler::Uniform,
                    // --depth alone means PCT: only PCT has a depth.
                    (Some(SamplerArg::Pct), depth) | (None, depth @ Some(_)) => Sampler::Pct {
                        depth: depth.unwrap_or(DEFAULT_DEPTH),
                    },
                },
            },
            (None, true) => Search::Interactive,
            (None, false) if self.power_cut => Search::PowerCut {
                models: match self.model {
                    Some(ModelArg::Weak) => vec![Persistence::Weak],
                    Some(ModelArg::Ordered) => vec![Persistence::Ordered],
                    None => vec![Persistence::Weak, Persistence::Ordered],
                },
            },
            (None, false) => Search::Every,
        };
        let most = match search {
            Search::Every | Search::PowerCut { .. } => MAX_EXPLORED_BUYERS,
            Search::Random { .. } => MAX_BUYERS,
            Search::Interactive => MAX_INTERACTIVE_BUYERS,
        };
        let hint = if search == Search::Every && self.buyers > most {
            tr!("hint-explore-sample")
        } else {
            String::new()
        };
        BUYERS
            .up_to(u64::from(most))
            .check(u64::from(self.buyers), &hint)?;
        TICKETS.check(self.tickets, "")?;
        if let Search::Random {
            samples, sampler, ..
        } = &search
        {
            SAMPLES.check(*samples, "")?;
            if let Sampler::Pct { depth } = sampler {
                DEPTH.check(u64::from(*depth), "")?;
            }
        }
        Ok(Exploration {
            data: self.data,
            buyers: self.buyers,
            tickets: self.tickets,
            scope: self.lock.scope(),
            durability: durability(self.no_fsync),
            search,
            json: self.json,
        })
    }
}
