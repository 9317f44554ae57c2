//! The command line (clap types only), turned into a plain [`Settings`] before anything runs,
//! and the completion scripts generated from the very same types, so they never fall out of
//! date. The hidden buyer command is not here: `race::buyer` parses it without clap.

use std::path::PathBuf;
use std::time::Duration;

use clap::{CommandFactory, Parser, Subcommand};

use crate::exit::{Error, Result};
use crate::settings::{
    DbLock, DelayRange, Durability, Exploration, LockScope, MAX_BUYERS, MAX_EXPLORED_BUYERS,
    MAX_TICKETS, Method, Output, PerBuyer, Restock, Sampler, Schedule, Search, Settings, StepKill,
    StoreAt,
};
use crate::show::lang::Lang;

const EXAMPLES: &str = "\
Examples:
  grab-tickets                          10 buyers, 3 tickets, locked: each ticket sold once
  grab-tickets --no-lock                the same race without the lock: watch it oversell
  grab-tickets --lock-scope write       lock only the write (a common mistake): still oversells
  grab-tickets --buyers 4 --tickets 20 --per-buyer all --delay-ms 0..0
                                        a throughput run: buy until the stock is gone
  grab-tickets --seed 7 --check         the same delays again; exit 1 if anything was oversold
  grab-tickets --chaos --seed 2 --tickets 10
                                        SIGKILL a third of the buyers mid-purchase: nothing is lost
  grab-tickets --buyers 3 --kill-at 2:order_logged
                                        kill buyer 2 after it logged its order: the next holder
                                        finishes it
  grab-tickets --html race.html         a page that replays the race in a browser (projector)
  grab-tickets --json | jq .verdict     the whole report as JSON
  grab-tickets --no-lock --trace race.json
                                        open race.json in ui.perfetto.dev: one lane per buyer
  grab-tickets explore --no-lock        run every schedule of 2 buyers and 1 ticket, step by step
  grab-tickets --buyers 2 --tickets 1 --no-lock --schedule \"1s 2s 1r 2r 1w 2w\"
                                        replay one schedule exactly: both buyers sell ticket 1
  grab-tickets completions bash         print a completion script (bash, zsh, fish, ...)

On PostgreSQL (README: \"When one machine is not enough\"):
  grab-tickets --store postgres://USER@HOST:PORT/DB            row lock around the purchase
  grab-tickets --store postgres://USER@HOST:PORT/DB --no-lock  the same race, on a server
  grab-tickets --store postgres://USER@HOST:PORT/DB --db-lock advisory
  grab-tickets --store postgres://USER@HOST:PORT/DB --atomic   one conditional UPDATE
  grab-tickets --store postgres://USER@HOST:PORT/DB --serializable

What --seed replays: every buyer's network delays, and which buyers --chaos kills at which
step. What it cannot: which waiting buyer the kernel lets in when the lock comes free, and so
who buys which ticket. Exact replay of that order is --schedule's (explore prints schedules).";

#[derive(Debug, Parser)]
#[command(
    name = "grab-tickets",
    version,
    about = "Real processes race to buy tickets from one JSON file.",
    long_about = "Real processes race to buy tickets from one JSON file.\n\n\
        Each buyer is a separate OS process. It searches (reads and prints what it sees), then \
        buys: re-reads, waits a random network delay, and takes a ticket if one is left. \
        Without a lock they oversell; with an exclusive file lock around the whole \
        read-check-write every ticket is sold exactly once.",
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub race: RaceArgs,

    /// Language of everything printed: en (English) or zh (简体中文). Default: from LC_ALL,
    /// LC_MESSAGES or LANG, else the system's setting, else English. --json stays the same.
    #[arg(long, global = true, value_enum, value_name = "LANG")]
    pub lang: Option<Lang>,
}

#[derive(Debug, clap::Args)]
pub struct RaceArgs {
    /// Number of buyer processes to spawn (1 to 1000) [default: 10, or with --schedule the
    /// highest buyer it names].
    #[arg(short, long, value_name = "N", allow_negative_numbers = true,
          value_parser = whole_number::<u32>(1, u64::from(MAX_BUYERS)))]
    pub buyers: Option<u32>,

    /// Set the stock to this many tickets before the race.
    #[arg(
        short,
        long,
        default_value_t = 3,
        value_name = "T",
        conflicts_with = "keep_stock",
        allow_negative_numbers = true,
        value_parser = whole_number::<u64>(0, MAX_TICKETS)
    )]
    pub tickets: u64,

    /// Use the stock in the data file as it is instead of setting it to --tickets.
    #[arg(long)]
    pub keep_stock: bool,

    /// The shared data file: {"ticket_num": N}.
    #[arg(short, long, default_value = "data/data.json", value_name = "PATH")]
    pub data: PathBuf,

    #[command(flatten)]
    pub lock: LockArgs,

    /// Simulated network delay range in milliseconds, LO..HI inclusive.
    #[arg(
        long,
        default_value = "100..300",
        value_name = "LO..HI",
        allow_hyphen_values = true
    )]
    pub delay_ms: DelayRange,

    /// Seed for the delays and the --chaos plan: the same seed replays every buyer's delays and
    /// kill points, not which waiter the kernel wakes (exact lock order: --schedule).
    #[arg(long, value_name = "S", allow_negative_numbers = true,
          value_parser = whole_number::<u64>(0, u64::MAX))]
    pub seed: Option<u64>,

    /// Tickets each buyer tries to get: a number, or 'all' to buy until the stock is gone.
    #[arg(
        long,
        default_value = "1",
        value_name = "K|all",
        allow_hyphen_values = true
    )]
    pub per_buyer: PerBuyer,

    /// Do not fsync before confirming a sale: faster; a power cut may lose confirmed sales.
    #[arg(long)]
    pub no_fsync: bool,

    /// Give up on the lock after this many milliseconds (the buyer's outcome: lock timeout).
    #[arg(long, value_name = "MS", allow_negative_numbers = true,
          value_parser = whole_number::<u64>(0, u64::MAX))]
    pub lock_timeout: Option<u64>,

    /// Exit with status 1 if tickets were oversold or the counts do not reconcile.
    #[arg(long)]
    pub check: bool,

    /// Print the whole report as one JSON document instead of text (implies --quiet).
    #[arg(long)]
    pub json: bool,

    /// Also write the race to FILE in the Chrome Trace Event format (open it in
    /// ui.perfetto.dev or chrome://tracing).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,

    /// Also write FILE, one self-contained HTML page that replays the race in a browser: a
    /// lane per buyer, the ticket counter, the lock holder, play/step controls and the report.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// Print only the report, not the race as it happens.
    #[arg(short, long)]
    pub quiet: bool,

    /// Also narrate each buyer's start and finish with its delays, and name the run id and
    /// every file the run uses.
    #[arg(short, long, conflicts_with_all = ["quiet", "json"])]
    pub verbose: bool,

    /// Fault injection: SIGKILL about a third of the buyers, each at a step of an attempt
    /// drawn from --seed, then show that no sale was lost or sold twice.
    #[arg(long)]
    pub chaos: bool,

    /// Keep the stock in a PostgreSQL database instead of the data file, e.g.
    /// postgres://app@db.example:5432/shop (a Unix socket directory goes percent-encoded in
    /// the host: postgres://app@%2Fvar%2Frun%2Fpostgresql/shop). Tables are created if
    /// missing; a password may come from PGPASSWORD. (Stepped runs, --schedule, are for the
    /// data file only.)
    #[arg(long, value_name = "URL", conflicts_with_all = ["data", "schedule"])]
    pub store: Option<String>,

    /// The database's lock for --lock-scope whole and write: 'row' (SELECT ... FOR UPDATE on
    /// the stock row, held across the delay) or 'advisory' (pg_advisory_xact_lock, the
    /// closest analogue of flock). Needs --store.
    #[arg(long, value_enum, default_value_t = DbLockArg::Row, value_name = "KIND", requires = "store")]
    pub db_lock: DbLockArg,

    /// The database's own answer: no read-then-write at all, one conditional
    /// UPDATE ... SET ticket_num = ticket_num - 1 WHERE ticket_num > 0 RETURNING. Needs --store.
    #[arg(long, requires = "store", conflicts_with_all = ["no_lock", "lock_scope", "db_lock", "serializable"])]
    pub atomic: bool,

    /// Read, delay and write in one SERIALIZABLE transaction and no lock: the database aborts
    /// one of two conflicting purchases, and the buyer retries it (the report counts the
    /// retries). Needs --store.
    #[arg(long, requires = "store", conflicts_with_all = ["no_lock", "lock_scope", "db_lock"])]
    pub serializable: bool,

    /// Fault injection for one buyer: SIGKILL buyer N at STEP of its attempt A (default 1);
    /// repeat for more. Steps: before_lock, lock_held, in_delay, temp_written, order_logged,
    /// data_written, released (a database store passes fewer).
    #[arg(long, value_name = "N:STEP[:A]")]
    pub kill_at: Vec<StepKill>,

    /// Replay one interleaving exactly: each buyer pauses before every move and makes it when
    /// the schedule says, e.g. "1s 2s 1r 2r 1w 2w" (moves: s search, l lock, r read,
    /// w write, u unlock; `explore` prints such schedules).
    #[arg(long, value_name = "STEPS", conflicts_with_all = ["chaos", "kill_at"])]
    pub schedule: Option<Schedule>,
}

/// How much of a purchase the lock covers: the same two flags for a run and for `explore`.
#[derive(Debug, clap::Args)]
pub struct LockArgs {
    /// Take no lock at all (same as --lock-scope none): the lesson's race. On a database
    /// (--store): read the count, delay, then UPDATE ... SET ticket_num = <seen - 1>.
    #[arg(long, conflicts_with = "lock_scope")]
    pub no_lock: bool,

    /// How much of a purchase the lock covers: whole (correct), write (a common mistake), none.
    /// On a database the lock is a row or advisory lock (--db-lock) held by a transaction.
    #[arg(long, value_enum, default_value_t = ScopeArg::Whole, value_name = "SCOPE")]
    pub lock_scope: ScopeArg,
}

impl LockArgs {
    fn scope(&self) -> LockScope {
        match (self.no_lock, self.lock_scope) {
            (true, _) | (false, ScopeArg::None) => LockScope::None,
            (false, ScopeArg::Write) => LockScope::Write,
            (false, ScopeArg::Whole) => LockScope::Whole,
        }
    }
}

/// `grab-tickets explore`: the launcher becomes the scheduler.
#[derive(Debug, clap::Args)]
pub struct ExploreArgs {
    /// Number of buyer processes (1 to 4 for every schedule, up to 1000 with --random).
    #[arg(short, long, default_value_t = 2, value_name = "N", allow_negative_numbers = true,
          value_parser = whole_number::<u32>(1, u64::from(MAX_BUYERS)))]
    pub buyers: u32,

    /// Tickets in stock at the start of every schedule.
    #[arg(short, long, default_value_t = 1, value_name = "T", allow_negative_numbers = true,
          value_parser = whole_number::<u64>(0, MAX_TICKETS))]
    pub tickets: u64,

    /// The data file copied afresh for every schedule (it is never written).
    #[arg(short, long, default_value = "data/data.json", value_name = "PATH")]
    pub data: PathBuf,

    #[command(flatten)]
    pub lock: LockArgs,

    /// Sample N schedules (drawn by --sampler, from --seed) instead of running every one.
    #[arg(long, value_name = "N", conflicts_with = "interactive", allow_negative_numbers = true,
          value_parser = whole_number::<u64>(1, MAX_SAMPLES))]
    pub random: Option<u64>,

    /// Seed for --random: the same seed samples the same schedules.
    #[arg(long, value_name = "S", requires = "random", allow_negative_numbers = true,
          value_parser = whole_number::<u64>(0, u64::MAX))]
    pub seed: Option<u64>,

    /// How --random draws a schedule: uniform (any buyer that can move, equally likely; the
    /// default, which finds this race most often) or pct (priorities with random change
    /// points).
    #[arg(long, value_enum, value_name = "HOW", requires = "random")]
    pub sampler: Option<SamplerArg>,

    /// Depth of the PCT sampler: each sample demotes the moving buyer at DEPTH - 1 random
    /// steps [default: 3].
    #[arg(long, value_name = "D", requires = "random", allow_negative_numbers = true,
          value_parser = whole_number::<u32>(1, u64::from(MAX_DEPTH)))]
    pub depth: Option<u32>,

    /// Be the scheduler yourself: type a buyer's number to let it make its next move.
    #[arg(short, long)]
    pub interactive: bool,

    /// Print the summary as one JSON document.
    #[arg(long, conflicts_with = "interactive")]
    pub json: bool,

    /// Do not fsync before confirming a sale (faster; the race is the same).
    #[arg(long)]
    pub no_fsync: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScopeArg {
    Whole,
    Write,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DbLockArg {
    Row,
    Advisory,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SamplerArg {
    Pct,
    Uniform,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Step real buyer processes through every interleaving of their moves (or a random
    /// sample, or the ones you pick) and count the schedules that oversell.
    Explore(ExploreArgs),
    /// Print a shell completion script, e.g.
    /// grab-tickets completions bash > ~/.local/share/bash-completion/completions/grab-tickets
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

impl RaceArgs {
    /// Checks ranges clap cannot express and resolves defaults.
    pub fn into_settings(self) -> Result<Settings> {
        let named = self.schedule.as_ref().map_or(0, Schedule::buyers);
        let buyers = self.buyers.unwrap_or(if named > 0 { named } else { 10 });
        if buyers == 0 || buyers > MAX_BUYERS {
            return Err(Error::usage(format!(
                "--buyers {buyers} is out of range; use 1 to {MAX_BUYERS}"
            )));
        }
        if self.tickets > MAX_TICKETS {
            return Err(Error::usage(format!(
                "--tickets {} is out of range; use 0 to {MAX_TICKETS}",
                self.tickets
            )));
        }
        let method = match (self.atomic, self.serializable) {
            (true, _) => Method::Atomic,
            (false, true) => Method::Serializable,
            (false, false) => Method::ReadCheckWrite,
        };
        // The database's own answers take no lock of ours.
        let scope = match method {
            Method::ReadCheckWrite => self.lock.scope(),
            Method::Atomic | Method::Serializable => LockScope::None,
        };
        if let Some(schedule) = &self.schedule {
            if named > buyers {
                return Err(Error::usage(format!(
                    "--schedule names buyer-{named}, but --buyers is {buyers}; \
                     use --buyers {named} or leave --buyers out"
                )));
            }
            schedule
                .check_moves(scope, self.per_buyer)
                .map_err(|e| Error::usage(format!("--schedule \"{schedule}\": {e}")))?;
        }
        let output = match (self.json, self.quiet, self.verbose) {
            (true, _, _) => Output::Json,
            (false, true, _) => Output::Quiet,
            (false, false, true) => Output::Verbose,
            (false, false, false) => Output::Text,
        };
        Ok(Settings {
            data: self.data,
            buyers,
            restock: if self.keep_stock {
                Restock::Keep
            } else {
                Restock::To(self.tickets)
            },
            scope,
            // In a stepped race the schedule decides every move; a delay would only slow it.
            delay: if self.schedule.is_some() {
                DelayRange { lo_ms: 0, hi_ms: 0 }
            } else {
                self.delay_ms
            },
            // Small enough to retype: the report prints it so any run can be replayed.
            seed: self
                .seed
                .unwrap_or_else(|| rand::random_range(0..1_000_000)),
            per_buyer: self.per_buyer,
            durability: if self.no_fsync {
                Durability::NoFsync
            } else {
                Durability::Fsync
            },
            lock_timeout: self.lock_timeout.map(Duration::from_millis),
            check: self.check,
            output,
            chaos: self.chaos,
            kill_at: self.kill_at,
            trace: self.trace,
            html: self.html,
            schedule: self.schedule,
            store: match self.store {
                Some(url) => StoreAt::Postgres { url },
                None => StoreAt::DataFile,
            },
            db_lock: match self.db_lock {
                DbLockArg::Row => DbLock::Row,
                DbLockArg::Advisory => DbLock::Advisory,
            },
            method,
        })
    }
}

/// Most schedules `explore --random` samples in one go.
const MAX_SAMPLES: u64 = 1_000_000;
/// PCT depths beyond this add change points no overselling needs.
const MAX_DEPTH: u32 = 10;
/// Two demotions per sample: enough for a read to be overtaken and then some.
const DEFAULT_DEPTH: u32 = 3;
/// `--interactive` asks for a buyer by number: more than this is not a game any more.
const MAX_INTERACTIVE_BUYERS: u32 = 9;

impl ExploreArgs {
    /// Checks ranges clap cannot express and resolves defaults.
    pub fn into_exploration(self) -> Result<Exploration> {
        let search = match (self.random, self.interactive) {
            (Some(samples), _) => Search::Random {
                samples,
                seed: self
                    .seed
                    .unwrap_or_else(|| rand::random_range(0..1_000_000)),
                sampler: match (self.sampler, self.depth) {
                    (Some(SamplerArg::Uniform), Some(_)) => {
                        return Err(Error::usage(
                            "--depth is the PCT sampler's; leave it out with --sampler uniform",
                        ));
                    }
                    (Some(SamplerArg::Uniform) | None, None) => Sampler::Uniform,
                    // --depth alone means PCT: only PCT has a depth.
                    (Some(SamplerArg::Pct), depth) | (None, depth @ Some(_)) => Sampler::Pct {
                        depth: depth.unwrap_or(DEFAULT_DEPTH),
                    },
                },
            },
            (None, true) => Search::Interactive,
            (None, false) => Search::Every,
        };
        let most = match search {
            Search::Every => MAX_EXPLORED_BUYERS,
            Search::Random { .. } => MAX_BUYERS,
            Search::Interactive => MAX_INTERACTIVE_BUYERS,
        };
        if self.buyers == 0 || self.buyers > most {
            let hint = if search == Search::Every && self.buyers > most {
                "; every schedule of more buyers is too many to run: sample them with \
                 --random N"
            } else {
                ""
            };
            return Err(Error::usage(format!(
                "--buyers {} is out of range; use 1 to {most}{hint}",
                self.buyers
            )));
        }
        if self.tickets > MAX_TICKETS {
            return Err(Error::usage(format!(
                "--tickets {} is out of range; use 0 to {MAX_TICKETS}",
                self.tickets
            )));
        }
        if let Search::Random {
            samples, sampler, ..
        } = search
        {
            if samples == 0 || samples > MAX_SAMPLES {
                return Err(Error::usage(format!(
                    "--random {samples} is out of range; use 1 to {MAX_SAMPLES}"
                )));
            }
            if let Sampler::Pct { depth } = sampler
                && (depth == 0 || depth > MAX_DEPTH)
            {
                return Err(Error::usage(format!(
                    "--depth {depth} is out of range; use 1 to {MAX_DEPTH}"
                )));
            }
        }
        Ok(Exploration {
            data: self.data,
            buyers: self.buyers,
            tickets: self.tickets,
            scope: self.lock.scope(),
            durability: if self.no_fsync {
                Durability::NoFsync
            } else {
                Durability::Fsync
            },
            search,
            json: self.json,
        })
    }
}

/// A parser for a whole-number flag: a negative or non-numeric value is refused with the
/// flag's range, instead of clap taking "-1" for an unknown flag. The range itself is checked
/// where the settings are resolved, which names the flag and the value.
fn whole_number<T: TryFrom<u64>>(
    lo: u64,
    hi: u64,
) -> impl Fn(&str) -> std::result::Result<T, String> + Clone {
    move |text: &str| {
        let range = if hi == u64::MAX {
            format!("use a whole number, {lo} or more")
        } else {
            format!("use a whole number from {lo} to {hi}")
        };
        if text.starts_with('-') {
            return Err(format!("it cannot be negative; {range}"));
        }
        let n = text
            .parse::<u64>()
            .map_err(|_| format!("not a whole number; {range}"))?;
        T::try_from(n).map_err(|_| format!("{n} is too large; {range}"))
    }
}

/// Parses the command line. Help and version are printed here (`Ok(None)`); every mistake
/// becomes one [`Error`] in the program's one error style, with clap's tip as the hint.
pub fn parse() -> Result<Option<Cli>> {
    match Cli::try_parse() {
        Ok(cli) => Ok(Some(cli)),
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            Ok(None)
        }
        Err(e) => Err(Error::usage(one_line(&e.render().to_string()))),
    }
}

/// Clap's multi-line message ("error: ...", maybe a list of arguments, a blank, "  tip: ...",
/// usage) as "what; hint".
fn one_line(rendered: &str) -> String {
    let mut lines = rendered.lines().map(str::trim);
    let mut what = lines
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_string();
    // "the following required arguments were not provided:" lists them on the lines below.
    for listed in lines.by_ref().take_while(|l| !l.is_empty()) {
        what.push(' ');
        what.push_str(listed);
    }
    let tips: Vec<&str> = lines.filter_map(|l| l.strip_prefix("tip: ")).collect();
    let hint = if tips.is_empty() {
        "see 'grab-tickets --help'".to_string()
    } else {
        tips.join("; ")
    };
    format!("{what}; {hint}")
}

/// `grab-tickets completions SHELL`: the completion script for `shell`.
pub fn completion_script(shell: clap_complete::Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "grab-tickets", &mut script);
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_argument_is_named_on_the_one_line() {
        let err = Cli::try_parse_from(["grab-tickets", "--atomic"]).unwrap_err();
        let line = one_line(&err.render().to_string());
        assert!(
            line.starts_with("the following required arguments were not provided: --store"),
            "{line}"
        );
    }

    #[test]
    fn clap_errors_become_one_line_with_a_hint() {
        let err = Cli::try_parse_from(["grab-tickets", "--buyer", "3"]).unwrap_err();
        let line = one_line(&err.render().to_string());
        assert_eq!(
            line,
            "unexpected argument '--buyer' found; a similar argument exists: '--buyers'"
        );
        let err = Cli::try_parse_from(["grab-tickets", "--tickets", "-1"]).unwrap_err();
        assert_eq!(
            one_line(&err.render().to_string()),
            "invalid value '-1' for '--tickets <T>': it cannot be negative; use a whole number \
             from 0 to 1000000000; see 'grab-tickets --help'"
        );
    }

    #[test]
    fn the_kill_at_help_lists_every_step_in_order() {
        let help = Cli::command().render_long_help().to_string();
        let steps: Vec<&str> = crate::settings::Step::ALL
            .iter()
            .map(|s| s.name())
            .collect();
        assert!(help.contains(&steps.join(", ")), "{help}");
    }

    #[test]
    fn the_command_line_is_consistent_and_completes_every_flag() {
        Cli::command().debug_assert();
        let mut script = Vec::new();
        clap_complete::generate(
            clap_complete::Shell::Bash,
            &mut Cli::command(),
            "grab-tickets",
            &mut script,
        );
        let script = String::from_utf8(script).unwrap();
        assert!(script.contains("--no-lock") && script.contains("--trace"));
        assert!(script.contains("--html") && script.contains("--kill-at"));
        assert!(script.contains("completions"));
        assert!(!script.contains("subcmd__buyer"), "{script}");
    }
}
