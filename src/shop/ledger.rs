//! Keeps data.json and its order log in agreement; the log is the truth. Whoever holds the
//! lock settles before trusting the data file: orders in the log that the data file lacks
//! (their buyer died between the two) are applied; a data file ahead of the log, empty or
//! holding zeros (a power cut) is set back to the log's last entry. The launcher's steps on
//! the ledger live here too: the checks before a run, the restock, and the settling after it.

use std::path::Path;
use std::time::Duration;

use super::Settled;
use super::file_store::FileStore;
use super::orders::{ENTRY_LEN, Entry, EntryKind, OrderLog, log_path_for};
use super::store::{self, DataFile, Stock};
use crate::events::LockFileChange;
use crate::exit::{Error, Exit, Result};
use crate::settings::{Durability, LockScope, Restock};

/// Call only while holding the lock. Costs one read of the data file and one `pread` of the
/// log's last entry, however many orders came before.
pub fn settle(data: &DataFile, log: &OrderLog) -> Result<Settled<Stock>> {
    let last = log.trim_torn_tail_and_read_last()?;
    let stock = match store::read(data) {
        Ok(stock) => stock,
        // After a power cut the data file can be empty (its new contents were never written
        // back); the log, fsynced before every confirmation, still knows the count.
        Err(e) if e.exit == Exit::BadData && cut_by_power_loss(data) && last.is_some() => {
            let last = last.expect("checked above");
            let rebuilt = Stock::at(last.after, last.seq);
            store::write(data, &rebuilt)?;
            return Ok(Settled {
                stock: rebuilt,
                recovered: Some(last),
            });
        }
        Err(e) => return Err(e),
    };
    let Some(last) = last else {
        return Ok(Settled {
            stock,
            recovered: None,
        });
    };
    if !stock.has_seq || last.seq == stock.seq {
        // A hand-written data file (no seq) is the truth; the launcher starts a new log for it.
        return Ok(Settled {
            stock,
            recovered: None,
        });
    }
    if last.seq < stock.seq {
        // The data file holds sales the log lost. Entries are appended before the data file
        // is replaced, so only a power cut does this, taking sales that were flushed to
        // neither and so never confirmed: the log is the truth, roll the data file back.
        let fixed = Stock {
            ticket_num: last.after,
            seq: last.seq,
            ..stock
        };
        store::write(data, &fixed)?;
        return Ok(Settled {
            stock: fixed,
            recovered: None,
        });
    }
    // Normally one entry ahead (a buyer died between log and data file); more only after a
    // power cut, since the data file is not fsynced per sale. Either way the log must continue
    // exactly from the data file's state, or someone broke the protocol.
    let next = log.entry_with_seq(stock.seq + 1)?;
    if next.as_ref().is_none_or(|e| e.before != stock.ticket_num) {
        return Err(Error::bad_data(format!(
            "order log {} does not continue from data file {} (data at #{} with {} tickets, \
             log at #{}); something changed one of them without following the lock protocol; \
             run without --keep-stock to restock and start a new log",
            log.path().display(),
            data.display(),
            stock.seq,
            stock.ticket_num,
            last.seq
        )));
    }
    let fixed = Stock {
        ticket_num: last.after,
        seq: last.seq,
        ..stock
    };
    store::write(data, &fixed)?;
    Ok(Settled {
        stock: fixed,
        recovered: Some(last),
    })
}

/// Checks the data file before anything is created or changed: it must be valid, or be the
/// empty file a power cut can leave behind while its order log knows the count.
fn preflight(data: &DataFile) -> Result<()> {
    match store::read(data) {
        Ok(_) => Ok(()),
        Err(e) if e.exit == Exit::BadData && cut_by_power_loss(data) => {
            let log_len = std::fs::metadata(log_path_for(data.path())).map_or(0, |m| m.len());
            if log_len >= ENTRY_LEN as u64 {
                Ok(())
            } else {
                Err(e)
            }
        }
        Err(e) => Err(e),
    }
}

/// What ext4 can leave of a data file whose new contents never reached the disk: nothing, or
/// zeros. A person's edit never produces either, so those still get a clear error.
fn cut_by_power_loss(data: &DataFile) -> bool {
    store::read_bytes(data).is_ok_and(|bytes| bytes.is_empty() || bytes.contains(&0))
}

/// Checks the data file, then opens its lock file and order log. A new log's name is made
/// durable too when sales must survive a power cut (fdatasync covers contents, not names).
pub fn open_checked(data: &Path, durability: Durability) -> Result<FileStore> {
    let data = DataFile::open(data)?;
    preflight(&data)?;
    let log_is_new = !log_path_for(data.path()).exists();
    let shop = FileStore::beside(data)?;
    if log_is_new && durability == Durability::Fsync {
        store::sync_dir(&shop.data)?;
    }
    Ok(shop)
}

/// How the launcher waits for the lock: by the lock's one policy, telling `on_wait` once.
pub struct LockWait<'a> {
    pub timeout: Option<Duration>,
    pub on_wait: &'a dyn Fn(Option<u32>),
    /// Told each time the lock file was found deleted or replaced and locked anew.
    pub on_relock: &'a dyn Fn(LockFileChange),
}

/// The stock and its seq as the race starts.
#[derive(Debug, Clone, Copy)]
pub struct StartingStock {
    pub tickets: u64,
    /// Buyers count sales from it.
    pub seq: u64,
}

/// Sets the stock to `--tickets` (a fresh order log starts with a restock entry), or keeps it.
pub fn restock(
    shop: &FileStore,
    restock: Restock,
    run: &str,
    wait: &LockWait,
) -> Result<StartingStock> {
    let _guard = shop
        .lock
        .acquire_or_fail(wait.timeout, wait.on_wait, wait.on_relock)?;
    let stock = match restock {
        // A stock we are about to replace need not agree with its old log, unless the log
        // is all that is left of it (an emptied data file).
        Restock::To(_) => match store::read(&shop.data) {
            Ok(stock) => stock,
            Err(_) => settle(&shop.data, &shop.log)?.stock,
        },
        Restock::Keep => settle(&shop.data, &shop.log)?.stock,
    };
    let tickets = match restock {
        Restock::To(tickets) => tickets,
        Restock::Keep if stock.has_seq => {
            return Ok(StartingStock {
                tickets: stock.ticket_num,
                seq: stock.seq,
            });
        }
        // A hand-written file: adopt its count and start its order log.
        Restock::Keep => stock.ticket_num,
    };
    let seq = restart_history(shop, run, stock, tickets)?;
    Ok(StartingStock { tickets, seq })
}

/// The stock once every buyer has ended.
pub struct AfterRace {
    pub remaining: u64,
    /// An order a killed buyer committed that the launcher had to apply.
    pub recovered: Option<Entry>,
}

/// After the race: finishes any order a killed buyer committed but did not apply, then reads
/// back the stock.
pub fn settle_after_race(
    shop: &FileStore,
    scope: LockScope,
    run: &str,
    wait: &LockWait,
) -> Result<AfterRace> {
    let _guard = shop
        .lock
        .acquire_or_fail(wait.timeout, wait.on_wait, wait.on_relock)?;
    if scope == LockScope::Whole {
        let settled = settle(&shop.data, &shop.log)?;
        return Ok(AfterRace {
            remaining: settled.stock.ticket_num,
            recovered: settled.recovered,
        });
    }
    // Without the whole-purchase lock the log is a record of the race, with stale and
    // repeated seqs, not a journal to replay: start a fresh one at the file's state, so
    // that a later --keep-stock run can trust it. (The report has read it already.)
    let stock = store::read(&shop.data)?;
    let remaining = stock.ticket_num;
    restart_history(shop, run, stock, remaining)?;
    Ok(AfterRace {
        remaining,
        recovered: None,
    })
}

/// A buyer killed between writing its temp file and swapping it in leaves the temp file
/// behind; it was never part of the data, so it goes. `pids` are the killed buyers'.
pub fn remove_temp_files_of(data: &Path, pids: &[u32]) {
    store::remove_temp_files_of(data, pids);
}

/// Starts a new order log whose first entry sets the stock to `tickets`, then writes the data
/// file to match (log first: a crash in between is rolled forward). Returns the new seq.
/// Call only while holding the lock.
fn restart_history(shop: &FileStore, run: &str, stock: Stock, tickets: u64) -> Result<u64> {
    let entry = Entry {
        seq: stock.seq + 1,
        kind: EntryKind::Restock,
        run: run.to_string(),
        buyer: 0,
        pid: std::process::id(),
        before: stock.ticket_num,
        after: tickets,
    };
    shop.log.restart(&entry)?;
    let fresh = Stock {
        ticket_num: tickets,
        seq: entry.seq,
        has_seq: true,
        ..stock
    };
    store::write(&shop.data, &fresh)?;
    Ok(entry.seq)
}
