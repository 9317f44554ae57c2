//! The stock row checked against its ledger, as the file store checks data.json against its
//! order log: every change to the row is made in the statement (or transaction) that records
//! it in `grab_tickets.orders`, so the row always says what the last order says, and each
//! order starts from the count its seq was left at. A row that disagrees was changed by hand
//! (an UPDATE outside grab-tickets): bad data, exit 3, never a verdict drawn from it.

use std::collections::HashMap;

use super::{PgStock, Target};
use crate::exit::Error;
use crate::lang::tr;
use crate::shop::orders::Entry;

/// The row against the last order in the table (`last`: its seq and after): a change by hand
/// since the last sale.
pub(crate) fn row_disagrees(
    target: &Target,
    stock: PgStock,
    last: Option<(u64, u64)>,
) -> Option<Error> {
    let (seq, after) = last?;
    if stock.seq == seq && stock.ticket_num == after {
        return None;
    }
    Some(Error::changed_outside(tr!(
        "error-pg-stock-changed-by-hand",
        shown = target.shown(),
        count = stock.ticket_num,
        seq = stock.seq,
        logged = after,
        logged_seq = seq
    )))
}

/// A change by hand between two sales, later sold over: an order (or restock) that starts
/// from a count its seq was not left at, or from a seq no entry wrote. `before` is the last
/// entry before the window (its seq and after), when there is one.
pub(crate) fn chain_breaks(
    target: &Target,
    before: Option<(u64, u64)>,
    window: &[(u64, Entry)],
) -> Option<Error> {
    // Without a lock buyers write stale counts, so seqs repeat; but every entry of one seq
    // was made from the same state, so a seq still names one count.
    let mut left_at: HashMap<u64, u64> = before.into_iter().collect();
    let mut top = before.map(|(seq, _)| seq);
    for (id, entry) in window {
        let from_seq = entry.seq.wrapping_sub(1);
        let from = left_at.get(&from_seq).copied();
        let jumped = top.is_some_and(|top| entry.seq > top + 1);
        if jumped || from.is_some_and(|count| count != entry.before) {
            return Some(Error::changed_outside(tr!(
                "error-pg-stock-changed-mid-race",
                shown = target.shown(),
                id = *id,
                seq = from_seq,
                before = entry.before,
                known = from.map_or_else(|| "none".to_string(), |count| count.to_string())
            )));
        }
        left_at.insert(entry.seq, entry.after);
        top = Some(top.map_or(entry.seq, |top| top.max(entry.seq)));
    }
    None
}
