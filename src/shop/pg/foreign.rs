//! The stock row checked against its ledger, as the file store checks data.json against its
//! order log: every change to the row is made in the statement (or transaction) that records
//! it in `grab_tickets.orders`, so the row always says what the last order says, and each
//! order starts from the count its seq was left at. A row that disagrees was changed by hand
//! (an UPDATE outside grab-tickets): bad data, exit 3, never a verdict drawn from it.

use std::collections::HashMap;

use super::{PgStock, Target};
use crate::exit::Error;
use crate::lang::tr;
use crate::shop::orders::{Entry, Jump};

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
/// from a count its seq was not left at. `before` is the last entry before the window (its
/// seq and after), when there is one. An entry whose seq jumps past every seq before it is
/// not a hand edit of the row but forged history (a program that broke the protocol wrote
/// it): returned apart, by order id, as the file store sets apart a log's jumps, and the
/// chain goes on from it.
pub(crate) fn chain_breaks(
    target: &Target,
    before: Option<(u64, u64)>,
    window: &[(u64, Entry)],
) -> (Vec<Jump>, Option<Error>) {
    // Without a lock buyers write stale counts, so seqs repeat; but every entry of one seq
    // was made from the same state, so a seq still names one count.
    let mut left_at: HashMap<u64, u64> = before.into_iter().collect();
    let mut top = before.map(|(seq, _)| seq);
    let mut jumps = Vec::new();
    for (id, entry) in window {
        let from_seq = entry.seq.wrapping_sub(1);
        let from = left_at.get(&from_seq).copied();
        match top {
            Some(highest) if entry.seq > highest.saturating_add(1) => jumps.push(Jump {
                line: *id,
                top: highest,
                entry: entry.clone(),
            }),
            _ if from.is_some_and(|count| count != entry.before) => {
                let changed = Error::changed_outside(tr!(
                    "error-pg-stock-changed-mid-race",
                    shown = target.shown(),
                    id = *id,
                    seq = from_seq,
                    before = entry.before,
                    known = from.map_or_else(|| "none".to_string(), |count| count.to_string())
                ));
                return (jumps, Some(changed));
            }
            _ => {}
        }
        left_at.insert(entry.seq, entry.after);
        top = Some(top.map_or(entry.seq, |top| top.max(entry.seq)));
    }
    (jumps, None)
}
