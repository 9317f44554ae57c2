//! Keeps data.json and its order log in agreement, on every lock holder's path; the log is the
//! truth. Whoever holds the lock settles before trusting the data file: orders in the log that
//! the data file lacks (their buyer died between the two) are applied; a data file ahead of the
//! log, empty or holding zeros (a power cut) is set back to the log's last entry.

use super::Settled;
use super::data_file::{self, DataFile};
use super::document::Stock;
use super::orders::{Entry, OrderLog};
use crate::exit::{Error, Failure, Result};
use crate::lang::tr;
use crate::safe_text::OneLine;

/// Call only while holding the lock. Costs one read of the data file and one `pread` of the
/// log's last entry, however many orders came before.
pub(crate) fn settle(data: &DataFile, log: &OrderLog) -> Result<Settled<Stock>> {
    let last = log.trim_torn_tail_and_read_last()?;
    let stock = match data_file::read(data) {
        Ok(stock) => stock,
        // After a power cut the data file can be empty (its new contents were never written
        // back); the log, fsynced before every confirmation, still knows the count.
        Err(e) if e.kind() == Failure::BadData && cut_by_power_loss(data) => match last {
            Some(last) => return rebuild_from_log(data, last),
            None => return Err(e),
        },
        Err(e) => return Err(e),
    };
    let Some(last) = last else {
        return Ok(Settled {
            stock,
            recovered: None,
        });
    };
    if !stock.has_seq {
        // Only a restock may adopt a hand-written file; selling from it would restart the
        // seqs in the middle of the ledger.
        return Err(Error::changed_outside(tr!(
            "error-ledger-no-seq",
            path = data.path().one_line(),
            log = log.path().one_line()
        )));
    }
    if last.seq == stock.seq {
        return agreeing(data, log, stock, &last);
    }
    if last.seq < stock.seq {
        // The data file holds sales the log lost. Entries are appended before the data file
        // is replaced, so only a power cut does this, taking sales that were flushed to
        // neither and so never confirmed: the log is the truth, roll the data file back.
        let fixed = set_to(data, stock, &last)?;
        return Ok(Settled {
            stock: fixed,
            recovered: None,
        });
    }
    roll_forward(data, log, stock, last)
}

/// The data file is gone to nothing (a power cut): rebuilt from the log's last entry alone.
fn rebuild_from_log(data: &DataFile, last: Entry) -> Result<Settled<Stock>> {
    let rebuilt = Stock::at(last.after, last.seq);
    data_file::write(data, &rebuilt)?;
    Ok(Settled {
        stock: rebuilt,
        recovered: Some(last),
    })
}

/// Data file and log end at the same change: they must say the same count. Whatever the
/// entry's kind (one this version does not know too): `after` is the count it left.
fn agreeing(data: &DataFile, log: &OrderLog, stock: Stock, last: &Entry) -> Result<Settled<Stock>> {
    if last.after != stock.ticket_num {
        return Err(Error::changed_outside(tr!(
            "error-ledger-disagrees",
            path = data.path().one_line(),
            tickets = stock.ticket_num,
            seq = stock.seq.to_string(),
            log = log.path().one_line(),
            after = last.after.to_string()
        )));
    }
    Ok(Settled {
        stock,
        recovered: None,
    })
}

/// The log is ahead of the data file: normally by one entry (a buyer died between log and
/// data file); by more only after a power cut, since the data file is not fsynced per sale.
/// Either way the log must continue exactly from the data file's state, or someone broke the
/// protocol. An entry of a kind this version does not know is rolled forward like any other:
/// its `seq`, `before` and `after` say what it did to the stock, whatever it meant (its writer
/// died before its swap, as a buyer can); it is never counted as a sale.
fn roll_forward(
    data: &DataFile,
    log: &OrderLog,
    stock: Stock,
    last: Entry,
) -> Result<Settled<Stock>> {
    let next = log.find_back(stock.seq + 1)?;
    let applicable = |e: &Entry| e.before == stock.ticket_num;
    if next.as_ref().is_none_or(|e| !applicable(e)) {
        return Err(Error::changed_outside(tr!(
            "error-ledger-does-not-continue",
            log = log.path().one_line(),
            path = data.path().one_line(),
            seq = stock.seq.to_string(),
            tickets = stock.ticket_num.to_string(),
            last = last.seq.to_string()
        )));
    }
    let fixed = set_to(data, stock, &last)?;
    Ok(Settled {
        stock: fixed,
        recovered: Some(last),
    })
}

/// Writes the data file at `last`'s count and seq, keeping the rest of its document.
fn set_to(data: &DataFile, stock: Stock, last: &Entry) -> Result<Stock> {
    let fixed = Stock {
        ticket_num: last.after,
        seq: last.seq,
        ..stock
    };
    data_file::write(data, &fixed)?;
    Ok(fixed)
}

/// What ext4 can leave of a data file whose new contents never reached the disk: nothing, or
/// zeros. A person's edit never produces either, so those still get a clear error.
pub(crate) fn cut_by_power_loss(data: &DataFile) -> bool {
    data_file::read_bytes(data).is_ok_and(|bytes| bytes.is_empty() || bytes.contains(&0))
}
