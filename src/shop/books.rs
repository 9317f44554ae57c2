//! The launcher's books on the file store: the checks before a run, the restock, and the run's
//! window of the ledger (opened as the race starts, closed and read back after it). What every
//! lock holder does to keep data.json and the log in agreement is `recovery`'s.

use crate::safe_text::OneLine;
use std::path::Path;
use std::time::Duration;

use super::data_file::{self, DataFile};
use super::document::MAX_SEQ;
use super::document::Stock;
use super::file_store::FileStore;
use super::lock::LockGuard;
use super::orders::{ENTRY_LEN, Entry, EntryKind, log_path_for, next_seq};
use super::planted::{Bug, planted};
use super::recovery::{cut_by_power_loss, settle};
use super::{Closed, Opened};
use crate::events::LockFileChange;
use crate::exit::{Error, Failure, Result, shown};
use crate::lang::tr;
use crate::settings::{Durability, LockScope, Restock};

/// Opens the data file's directory. One that does not exist is named with the fix for what
/// the run was about to do: create the data file (`--tickets`), or read it (`--keep-stock`).
fn open_data_file(data: &Path, restock: Restock) -> Result<DataFile> {
    let dir = match data.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    match restock {
        _ if dir.is_dir() => DataFile::open(data),
        Restock::To(_) => Err(Error::environment(tr!(
            "error-data-dir-missing-to-create",
            path = shown(data),
            dir = shown(dir),
            mkdir = dir.one_line()
        ))),
        Restock::Keep => Err(data_file::missing(data)),
    }
}

/// Checks the data file before anything is created or changed: it must be valid, or be the
/// empty file a power cut can leave behind while its order log knows the count, or be missing
/// when the run is about to set the stock anyway (its directory exists: it is open).
fn check_data_file(data: &DataFile, restock: Restock) -> Result<Option<Stock>> {
    // Setting the stock makes a new file anyway: a missing one is no obstacle, nor what a
    // power cut left of the first run's (nothing or zeros beside the log that run created,
    // its restock entry maybe lost). An empty file with no log is a person's: refused.
    let cut_first_run = cut_by_power_loss(data) && log_path_for(data.path()).exists();
    let replaceable = data_file::is_missing(data.path()) || cut_first_run;
    if replaceable && matches!(restock, Restock::To(_)) {
        return Ok(None);
    }
    match data_file::read(data) {
        Ok(stock) if stock.widest_len() as u64 > data_file::MAX_DATA_BYTES => {
            Err(data_file::too_large(data.path(), stock.widest_len()))
        }
        Ok(stock) => Ok(Some(stock)),
        Err(e) if e.kind() == Failure::BadData && cut_by_power_loss(data) => {
            let log_len = std::fs::metadata(log_path_for(data.path())).map_or(0, |m| m.len());
            if log_len >= ENTRY_LEN as u64 {
                Ok(None)
            } else {
                Err(e)
            }
        }
        Err(e) => Err(e),
    }
}

/// Checks the data file, then opens its lock file and order log and checks the ledger's tail
/// (the entries a run depends on: the last one, and that data.json continues from it). A new
/// log's name is made durable when sales must survive a power cut (fdatasync covers contents,
/// not names). Nothing is changed if a check fails.
pub(crate) fn open_checked(
    data: &Path,
    durability: Durability,
    restock: Restock,
    seqs: SeqsNeeded,
) -> Result<FileStore> {
    let data = open_data_file(data, restock)?;
    let stock = check_data_file(&data, restock)?;
    let log_path = log_path_for(data.path());
    let tickets = seqs.tickets.or(stock.as_ref().map(|s| s.ticket_num));
    let room = |top| {
        check_seq_room(
            (data.path(), &log_path),
            top,
            tickets.unwrap_or(0),
            seqs.buyers,
        )
    };
    // The data file's seq before anything is created; the log's once it is open.
    room(stock.as_ref().map_or(0, |s| s.seq))?;
    let log_is_new = !log_path.exists();
    let shop = FileStore::beside(data)?;
    let last = shop.log.check_tail()?;
    check_seq_room(
        (shop.data.path(), shop.log.path()),
        last.map_or(0, |e| e.seq),
        tickets.unwrap_or(0),
        seqs.buyers,
    )?;
    if log_is_new && durability == Durability::Fsync && !planted(Bug::NoLogDirSync) {
        data_file::sync_dir(&shop.data)?;
    }
    Ok(shop)
}

/// How many seqs a run may use at most, so that the ledger's room is checked before anything
/// changes: a restock and a resync, and for every ticket each buyer may sell it once without
/// a lock (each sale perhaps voided).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeqsNeeded {
    pub buyers: u32,
    /// The stock the run will set, or `None` to keep the data file's.
    pub tickets: Option<u64>,
}

/// Whether a ledger at `top` leaves this run room to finish below the largest seq, with
/// `tickets` the stock it races for: the one bound both stores check before any change.
pub(crate) fn seq_room_for(top: u64, tickets: u64, buyers: u32) -> bool {
    let needed = (tickets + 1)
        .saturating_mul(u64::from(buyers) + 1)
        .saturating_mul(2)
        .saturating_add(2);
    top <= MAX_SEQ.saturating_sub(needed)
}

/// Refuses a ledger at `top` too close to the largest seq for this run to finish in it.
fn check_seq_room(shop_files: (&Path, &Path), top: u64, tickets: u64, buyers: u32) -> Result<()> {
    if !seq_room_for(top, tickets, buyers) {
        return Err(Error::bad_data(tr!(
            "error-seq-no-room",
            data = shop_files.0.one_line(),
            log = shop_files.1.one_line(),
            seq = top.to_string(),
            max = MAX_SEQ.to_string()
        )));
    }
    Ok(())
}

/// How the launcher waits for the lock: by the lock's one policy, telling `on_wait` once.
pub(crate) struct LockWait<'a> {
    pub timeout: Option<Duration>,
    pub on_wait: &'a dyn Fn(Option<u32>),
    /// Told each time the lock file was found deleted or replaced and locked anew.
    pub on_relock: &'a dyn Fn(LockFileChange),
}

impl LockWait<'_> {
    /// Takes the lock for a launcher's step, by the lock's one policy.
    fn lock<'s>(&self, shop: &'s FileStore) -> Result<LockGuard<'s>> {
        shop.lock
            .acquire_or_fail(self.timeout, self.on_wait, self.on_relock)
    }
}

/// Sets the stock to `--tickets`, or adopts a hand-written file's count, by appending a
/// restock entry; with `--keep-stock` on a file the ledger already knows, changes nothing.
/// The new data file is staged first, so a directory that refuses it fails before the
/// ledger changes. Call only with the race gate held exclusively (no other run is racing).
pub(crate) fn restock(
    shop: &FileStore,
    restock: Restock,
    run: &str,
    wait: &LockWait,
) -> Result<()> {
    let _guard = wait.lock(shop)?;
    let created = data_file::is_missing(shop.data.path());
    let stock = match (restock, data_file::read(&shop.data)) {
        (Restock::Keep, Ok(stock)) if stock.has_seq => settle(&shop.data, &shop.log)?.stock,
        (_, Ok(stock)) => stock,
        // Created by setting the stock (checked before the run: its directory exists).
        (Restock::To(_), Err(_)) if created => Stock::new_file(),
        // What a power cut left of a data file whose log kept no entry (nothing, or zeros
        // the trim drops): there is no count to keep, so start afresh.
        (Restock::To(_), Err(_))
            if cut_by_power_loss(&shop.data)
                && shop.log.trim_torn_tail_and_read_last()?.is_none() =>
        {
            Stock::new_file()
        }
        // The log is all that is left of an emptied data file (a power cut).
        (_, Err(_)) => settle(&shop.data, &shop.log)?.stock,
    };
    let tickets = match restock {
        Restock::To(tickets) => tickets,
        Restock::Keep if stock.has_seq => return Ok(()),
        // A hand-written file: adopt its count.
        Restock::Keep => stock.ticket_num,
    };
    let last_seq = shop
        .log
        .trim_torn_tail_and_read_last()?
        .map_or(0, |e| e.seq);
    let entry = Entry {
        seq: next_seq(stock.seq.max(last_seq), shop.log.path())?,
        kind: EntryKind::Restock,
        run: run.to_string(),
        buyer: 0,
        pid: std::process::id(),
        before: stock.ticket_num,
        after: tickets,
    };
    // Until this swap is on disk, a power cut may bring back what was there before it: no
    // data file (its name is new), or one without a seq (written by hand), which the next
    // `--keep-stock` adopts as a fresh count, forgetting the sales the log kept. So fsync the
    // directory: once per shop, and once after each hand edit. Both found by
    // `explore --power-cut` (weak model; the hand-written start since it records three).
    let first_swap = created || !stock.has_seq;
    append_and_write(shop, stock, &entry)?;
    if first_swap {
        data_file::sync_dir(&shop.data)?;
    }
    Ok(())
}

/// Writes a launcher's entry and the data file that matches it: staged, logged, swapped in
/// (a crash after logging is rolled forward by the next settle). Call holding the lock.
fn append_and_write(shop: &FileStore, stock: Stock, entry: &Entry) -> Result<()> {
    let fresh = Stock {
        ticket_num: entry.after,
        seq: entry.seq,
        has_seq: true,
        ..stock
    };
    let staged = data_file::stage(&shop.data, &fresh)?;
    if let Err(e) = shop.log.append(entry) {
        staged.discard();
        return Err(e);
    }
    staged.swap_in()
}

/// Opens the run's window: settles, then notes the stock and where the ledger ends.
pub(crate) fn open_window(shop: &FileStore, wait: &LockWait) -> Result<Opened> {
    let _guard = wait.lock(shop)?;
    let stock = settle(&shop.data, &shop.log)?.stock;
    Ok(Opened {
        tickets: stock.ticket_num,
        from: shop.log.end()?,
    })
}

/// After the race: finishes any order a killed buyer committed but did not apply, reads back
/// the stock, and reads the run's window of the ledger. Costs one read of the window, however
/// long the ledger was before it.
pub(crate) fn close_window(
    shop: &FileStore,
    opened: &Opened,
    scope: LockScope,
    run: &str,
    wait: &LockWait,
) -> Result<Closed> {
    let guard = wait.lock(shop)?;
    match scope {
        LockScope::Whole => close_settled(shop, opened, guard),
        LockScope::Write | LockScope::None => close_with_resync(shop, opened, run),
    }
}

/// The whole-purchase lock kept the ledger a chain: settle, note its end, and read the window
/// after letting go (entries before the end never change again: reading them needs no lock).
fn close_settled(shop: &FileStore, opened: &Opened, guard: LockGuard<'_>) -> Result<Closed> {
    let settled = settle(&shop.data, &shop.log)?;
    let to = shop.log.end()?;
    drop(guard);
    Ok(Closed {
        remaining: Some(settled.stock.ticket_num),
        recovered: settled.recovered,
        window: Some(shop.log.read_window(opened.from..to)?),
    })
}

/// Without the whole-purchase lock the race's orders repeat and skip seqs: the chain goes on
/// from a resync entry at the data file's state, above every seq the race used, so that the
/// next lock holder can trust the ledger again. Call holding the lock.
fn close_with_resync(shop: &FileStore, opened: &Opened, run: &str) -> Result<Closed> {
    let to = shop.log.end()?;
    let window = shop.log.read_window(opened.from..to)?;
    let stock = data_file::read(&shop.data)?;
    let top = window
        .entries
        .iter()
        .map(|e| e.seq)
        .fold(stock.seq, u64::max);
    let resync = Entry {
        seq: next_seq(top, shop.log.path())?,
        kind: EntryKind::Resync,
        run: run.to_string(),
        buyer: 0,
        pid: std::process::id(),
        before: stock.ticket_num,
        after: stock.ticket_num,
    };
    let remaining = Some(stock.ticket_num);
    append_and_write(shop, stock, &resync)?;
    Ok(Closed {
        remaining,
        recovered: None,
        window: Some(window),
    })
}

/// When the ledger cannot be settled after the race (a full disk): the stock and the window
/// as they are on disk, read without changing anything, so the report can still be printed.
/// A data file that cannot be read (deleted under the run) leaves the stock unknown: the
/// report must not show a number it did not read. A deleted one replaces `error`, whose
/// hint (`--keep-stock`) is for a file missing before a run, with what happened.
pub(crate) fn read_unsettled(shop: &FileStore, opened: &Opened, error: Error) -> (Closed, Error) {
    let remaining = data_file::read(&shop.data).ok().map(|s| s.ticket_num);
    let path = shop.data.path();
    let error = if remaining.is_none() && data_file::is_missing(path) {
        data_file::deleted_during_race(path, &log_path_for(path))
    } else {
        error
    };
    let window = shop
        .log
        .end()
        .and_then(|to| shop.log.read_window(opened.from..to))
        .ok();
    let closed = Closed {
        remaining,
        recovered: None,
        window,
    };
    (closed, error)
}

/// A buyer killed between writing its temp file and swapping it in leaves the temp file
/// behind; it was never part of the data, so it goes. `pids` are the killed buyers'.
pub(crate) fn remove_temp_files_of(data: &Path, pids: &[u32]) {
    data_file::remove_temp_files_of(data, pids);
}
