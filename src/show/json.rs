//! The `--json` document: the whole run for scripts. Its shape is documented in docs/json.md and
//! checked by a test.

use serde::Serialize;

use super::cause;
use super::schedule::{JsonSchedule, Replayed};
use super::story::Story;
use super::text::verdict;
use super::words::Store;
use crate::events::Message;
use crate::lang::{Lang, speaking};
use crate::race::chaos::VictimReport;
use crate::report::{BuyerSummary, Participant, Recovery, RunResult, Status, Tally};
use crate::settings::{DbLock, Durability, LockScope, Method, Restock, Settings, StoreAt};
use crate::shop::orders::{Entry, Jump};

/// The document's version: raised when a field changes meaning or goes away.
const FORMAT: u32 = 1;

/// The document's top level.
#[derive(Serialize)]
pub(crate) struct JsonReport<'a> {
    pub format: u32,
    pub settings: JsonSettings,
    pub run: &'a str,
    /// When the starting gun fired, in microseconds on the events' clock (`events[].t_us`):
    /// the time zero of the narration, the timeline and the page.
    pub gun_us: u64,
    pub race_ms: f64,
    pub tally: &'a Tally,
    pub verdict: JsonVerdict,
    pub buyers: &'a [BuyerSummary],
    pub recovered: &'a [Recovery],
    pub victims: &'a [VictimReport],
    pub interrupted: bool,
    /// Everyone else who sold from the stock during this run.
    pub others: &'a [Participant],
    /// Lines of the run's window of the ledger that were not entries.
    pub unreadable: &'a [String],
    /// Restocks made by others during the race (against the protocol).
    pub foreign_restocks: &'a [Entry],
    /// Entries that broke the ledger's chain during the race (another program's forgery):
    /// `line` in the order log, `top` the highest seq before it, and the entry; counted nowhere.
    pub forged: &'a [Jump],
    /// Why the ledger could not be settled after the race, if it could not.
    pub settle_error: Option<&'a str>,
    /// Why `tally.remaining` is null, when it is: `data_file_not_read_back` or
    /// `stock_row_not_read_back` (the details, in the run's language, are in `settle_error`).
    pub remaining_unread: Option<&'static str>,
    /// Why `tally.logged` is null, when it is: `order_log_not_read_back` or
    /// `orders_table_not_read_back` (the server was gone); the details are in `settle_error`.
    pub logged_unread: Option<&'static str>,
    /// SERIALIZABLE purchases the database refused and the buyers ran again.
    pub retries: u64,
    /// Times the launcher found the lock file deleted or replaced and locked the new one
    /// (each buyer's count is in `buyers`).
    pub launcher_relocks: u64,
    pub events: &'a [Message],
    /// Only in a `--schedule` run: the schedule given and taken, and who got which ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<JsonSchedule>,
}

#[derive(Serialize)]
pub(crate) struct JsonSettings {
    pub data: String,
    pub buyers: u32,
    /// null with --keep-stock.
    pub tickets: Option<u64>,
    pub lock_scope: LockScope,
    pub delay_ms: [u64; 2],
    pub seed: Option<u64>,
    pub per_buyer: String,
    pub fsync: bool,
    pub lock_timeout_ms: Option<u64>,
    /// "file" or "postgres".
    pub store: &'static str,
    /// The database URL without its password, or null for the file store.
    pub database: Option<String>,
    /// "row" or "advisory" on a database, null for the file store.
    pub db_lock: Option<DbLock>,
    pub method: Method,
}

#[derive(Serialize)]
pub(crate) struct JsonVerdict {
    pub status: Status,
    pub line: String,
    pub cause: Option<String>,
}

/// The document, pretty-printed, as `--json` prints it.
pub(crate) fn report(
    settings: &Settings,
    result: &RunResult,
    story: &Story,
    replayed: Option<&Replayed>,
) -> String {
    serde_json::to_string_pretty(&document(settings, result, story, replayed))
        .expect("the report serializes")
}

/// The same document on one line (the classroom page embeds it).
pub(crate) fn compact(
    settings: &Settings,
    result: &RunResult,
    story: &Story,
    replayed: Option<&Replayed>,
) -> String {
    serde_json::to_string(&document(settings, result, story, replayed))
        .expect("the report serializes")
}

fn document<'a>(
    settings: &Settings,
    result: &'a RunResult,
    story: &Story,
    replayed: Option<&Replayed>,
) -> JsonReport<'a> {
    JsonReport {
        format: FORMAT,
        settings: JsonSettings {
            data: settings.data().display().to_string(),
            buyers: settings.buyers(),
            tickets: match settings.restock() {
                Restock::To(t) => Some(t),
                Restock::Keep => None,
            },
            lock_scope: settings.scope(),
            delay_ms: [settings.delay().lo_ms, settings.delay().hi_ms],
            seed: settings.seed(),
            per_buyer: settings.per_buyer().to_string(),
            fsync: settings.durability() == Durability::Fsync,
            lock_timeout_ms: settings.lock_timeout().map(|d| d.as_millis() as u64),
            store: match settings.store() {
                StoreAt::DataFile => "file",
                StoreAt::Postgres { .. } => "postgres",
            },
            database: settings.on_database().then(|| settings.stock_place()),
            db_lock: settings.on_database().then_some(settings.db_lock()),
            method: settings.method(),
        },
        run: &result.run,
        gun_us: result.gun_us,
        race_ms: result.race_us as f64 / 1e3,
        tally: &result.tally,
        verdict: JsonVerdict {
            status: result.tally.status(),
            line: speaking(Lang::En, || {
                verdict(&result.tally, &result.buyers, Store::of(settings))
            }),
            cause: speaking(Lang::En, || cause::why(settings, result, story)),
        },
        buyers: &result.buyers,
        recovered: &result.recovered,
        victims: &result.victims,
        interrupted: result.interrupted,
        others: &result.others,
        unreadable: &result.unreadable,
        foreign_restocks: &result.foreign_restocks,
        forged: &result.forged,
        settle_error: result.settle_error.as_deref(),
        remaining_unread: result
            .tally
            .remaining
            .is_none()
            .then(|| match Store::of(settings) {
                Store::File => "data_file_not_read_back",
                Store::Database => "stock_row_not_read_back",
            }),
        logged_unread: result
            .tally
            .logged
            .is_none()
            .then(|| match Store::of(settings) {
                Store::File => "order_log_not_read_back",
                Store::Database => "orders_table_not_read_back",
            }),
        retries: result.retries,
        launcher_relocks: result.launcher_relocks,
        events: &result.events,
        schedule: replayed.map(|r| JsonSchedule::of(r, story)),
    }
}
