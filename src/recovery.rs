//! Bringing the data file to the order log's state. Run by whoever holds the lock, before it
//! trusts the data file: orders in the log that the data file lacks (their buyer died
//! between the two) are applied; a data file ahead of the log, empty or holding zeros (a
//! power cut) is set back to the log's last entry. The log is the truth.

use std::path::Path;

use crate::error::{Error, ErrorKind, Result};
use crate::orders::{ENTRY_LEN, Entry, OrderLog, log_path_for};
use crate::store::{self, Stock};

/// The data file brought up to date with the order log, and the entry applied on the way, if any.
pub struct Settled {
    pub stock: Stock,
    pub recovered: Option<Entry>,
}

/// Call only while holding the lock. Costs one read of the data file and one `pread` of the
/// log's last entry, however many orders came before.
pub fn settle(data: &Path, log: &OrderLog) -> Result<Settled> {
    let last = log.trim_torn_tail_and_read_last()?;
    let stock = match store::read(data) {
        Ok(stock) => stock,
        // After a power cut the data file can be empty (its new contents were never written
        // back); the log, fsynced before every confirmation, still knows the count.
        Err(e) if e.kind == ErrorKind::BadData && cut_by_power_loss(data) && last.is_some() => {
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
pub fn preflight(data: &Path) -> Result<()> {
    match store::read(data) {
        Ok(_) => Ok(()),
        Err(e) if e.kind == ErrorKind::BadData && cut_by_power_loss(data) => {
            let log_len = std::fs::metadata(log_path_for(data)).map_or(0, |m| m.len());
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
fn cut_by_power_loss(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| bytes.is_empty() || bytes.contains(&0))
}
