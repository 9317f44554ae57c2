//! The command line's clap types: every flag of a run and of `explore`, with its help. Turned
//! into [`Settings`](crate::settings::Settings) by `resolve` before anything runs.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use super::bounds::{ANY, BUYERS, DEPTH, SAMPLES, TICKETS};
use crate::settings::{DelayRange, PerBuyer, Schedule, StepKill};

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
  grab-tickets man | man -l -           read the manual page

On PostgreSQL (docs/postgres.md):
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
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub race: RaceArgs,

    /// Language of everything printed: en (English) or zh (简体中文). Default: from LC_ALL,
    /// LC_MESSAGES or LANG, else the system's setting, else English. --json stays the same.
    #[arg(long, global = true, value_enum, value_name = "LANG")]
    pub lang: Option<crate::lang::Lang>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RaceArgs {
    /// Number of buyer processes to spawn (1 to 1000) [default: 10, or with --schedule the
    /// highest buyer it names].
    #[arg(short, long, value_name = "N", allow_negative_numbers = true,
          value_parser = BUYERS.parser::<u32>())]
    pub buyers: Option<u32>,

    /// Set the stock to this many tickets before the race.
    #[arg(
        short,
        long,
        default_value_t = 3,
        value_name = "T",
        conflicts_with = "keep_stock",
        allow_negative_numbers = true,
        value_parser = TICKETS.parser::<u64>()
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
          value_parser = ANY.parser::<u64>())]
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
          value_parser = ANY.parser::<u64>())]
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
pub(crate) struct LockArgs {
    /// Take no lock at all (same as --lock-scope none): the lesson's race. On a database
    /// (--store): read the count, delay, then UPDATE ... SET ticket_num = <seen - 1>.
    #[arg(long, conflicts_with = "lock_scope")]
    pub no_lock: bool,

    /// How much of a purchase the lock covers: whole (correct), write (a common mistake), none.
    /// On a database the lock is a row or advisory lock (--db-lock) held by a transaction.
    #[arg(long, value_enum, default_value_t = ScopeArg::Whole, value_name = "SCOPE")]
    pub lock_scope: ScopeArg,
}

/// `grab-tickets explore`: the launcher becomes the scheduler.
#[derive(Debug, clap::Args)]
pub(crate) struct ExploreArgs {
    /// Number of buyer processes (1 to 4 for every schedule, up to 1000 with --random).
    #[arg(short, long, default_value_t = 2, value_name = "N", allow_negative_numbers = true,
          value_parser = BUYERS.parser::<u32>())]
    pub buyers: u32,

    /// Tickets in stock at the start of every schedule.
    #[arg(short, long, default_value_t = 1, value_name = "T", allow_negative_numbers = true,
          value_parser = TICKETS.parser::<u64>())]
    pub tickets: u64,

    /// The data file copied afresh for every schedule (it is never written).
    #[arg(short, long, default_value = "data/data.json", value_name = "PATH")]
    pub data: PathBuf,

    #[command(flatten)]
    pub lock: LockArgs,

    /// Sample N schedules (drawn by --sampler, from --seed) instead of running every one.
    #[arg(long, value_name = "N", conflicts_with = "interactive", allow_negative_numbers = true,
          value_parser = SAMPLES.parser::<u64>())]
    pub random: Option<u64>,

    /// Seed for --random: the same seed samples the same schedules.
    #[arg(long, value_name = "S", requires = "random", allow_negative_numbers = true,
          value_parser = ANY.parser::<u64>())]
    pub seed: Option<u64>,

    /// How --random draws a schedule: uniform (any buyer that can move, equally likely; the
    /// default, which finds this race most often) or pct (priorities with random change
    /// points).
    #[arg(long, value_enum, value_name = "HOW", requires = "random")]
    pub sampler: Option<SamplerArg>,

    /// Depth of the PCT sampler: each sample demotes the moving buyer at DEPTH - 1 random
    /// steps [default: 3].
    #[arg(long, value_name = "D", requires = "random", allow_negative_numbers = true,
          value_parser = DEPTH.parser::<u32>())]
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

    /// Power cuts instead of schedules: record one real race's file operations, build every
    /// state a power cut could leave on disk, recover each with the next run and check that
    /// no confirmed sale is lost (exit 1 if one is vulnerable). Starts from a new data file.
    #[arg(long, conflicts_with_all = ["random", "interactive", "no_lock", "lock_scope", "data"])]
    pub power_cut: bool,

    /// With --power-cut, what a power cut may leave of unsynced writes: weak (lost, torn,
    /// zeroed, reordered) or ordered (ext4's default, data=ordered) [default: both].
    #[arg(long, value_enum, value_name = "MODEL", requires = "power_cut")]
    pub model: Option<ModelArg>,
}

/// `grab-tickets doctor`: is it safe to race in this directory?
#[derive(Debug, clap::Args)]
pub(crate) struct DoctorArgs {
    /// The data file whose directory is checked (it is never read or written).
    #[arg(short, long, default_value = "data/data.json", value_name = "PATH")]
    pub data: PathBuf,

    /// Print the checkup as one JSON document.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ModelArg {
    Weak,
    Ordered,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ScopeArg {
    Whole,
    Write,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DbLockArg {
    Row,
    Advisory,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SamplerArg {
    Pct,
    Uniform,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Step real buyer processes through every interleaving of their moves (or a random
    /// sample, or the ones you pick) and count the schedules that oversell.
    Explore(ExploreArgs),
    /// Check the directory the data file lives in: name its filesystem, then test with real
    /// processes that the lock excludes, a replace is atomic and fsync works. Exit 0 safe,
    /// 1 not safe, 4 cannot test.
    Doctor(DoctorArgs),
    /// Print a shell completion script, e.g.
    /// grab-tickets completions bash > ~/.local/share/bash-completion/completions/grab-tickets
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g.
    /// grab-tickets man > ~/.local/share/man/man1/grab-tickets.1, or grab-tickets man | man -l -
    Man {
        /// The page of one subcommand instead: grab-tickets-explore(1),
        /// grab-tickets-doctor(1) or grab-tickets-completions(1)
        #[arg(value_enum, value_name = "COMMAND")]
        page: Option<ManPage>,
    },
}

/// The subcommands with a manual page of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ManPage {
    Explore,
    Doctor,
    Completions,
}

impl ManPage {
    pub(crate) fn name(self) -> &'static str {
        match self {
            ManPage::Explore => "explore",
            ManPage::Doctor => "doctor",
            ManPage::Completions => "completions",
        }
    }
}
