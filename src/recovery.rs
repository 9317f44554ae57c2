//! Finishing what a killed buyer left half done. Run by whoever holds the lock, before it
//! trusts the data file: if the order log is one entry ahead of the data file, that order was
//! committed but its buyer died before replacing the data file, so we apply it.

use std::path::Path;

use crate::error::{Error, Result};
use crate::orders::{Entry, OrderLog};
use crate::store::{self, Flush, Stock};

/// The data file brought up to date with the order log, and the entry applied on the way, if any.
pub struct Settled {
    pub stock: Stock,
    pub recovered: Option<Entry>,
}

/// Call only while holding the lock. Costs one read of the data file and one `pread` of the
/// log's last entry, however many orders came before.
pub fn settle(data: &Path, log: &OrderLog) -> Result<Settled> {
    let stock = store::read(data)?;
    log.trim_torn_tail()?;
    let Some(last) = log.last()? else {
        return Ok(Settled {
            stock,
            recovered: None,
        });
    };
    if !stock.has_seq || last.seq <= stock.seq {
        // A hand-written data file (no seq) is the truth; the launcher starts a new log for it.
        return Ok(Settled {
            stock,
            recovered: None,
        });
    }
    if last.seq == stock.seq + 1 {
        let fixed = Stock {
            ticket_num: last.after,
            seq: last.seq,
            ..stock
        };
        store::write(data, &fixed, Flush::Lazy)?;
        return Ok(Settled {
            stock: fixed,
            recovered: Some(last),
        });
    }
    Err(Error::bad_data(format!(
        "order log {} is {} entries ahead of data file {} (log at #{}, data at #{}); something \
         changed the data file without following the lock protocol; run without --keep-stock \
         to restock and start a new log",
        log.path().display(),
        last.seq - stock.seq,
        data.display(),
        last.seq,
        stock.seq
    )))
}
