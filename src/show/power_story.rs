//! The short story of one vulnerable crash state: for each confirmed sale the cut took, why
//! (its entry never flushed, or flushed into a log whose name was never made durable), and
//! whether the next run could go on at all. Facts from the record; words from the catalogs.

use std::collections::HashMap;

use super::power_cut::entry;
use crate::lang::tr;
use crate::powercut::disk::Fate;
use crate::powercut::recover::Problem;
use crate::powercut::trace::Step;
use crate::sys::record::Op;

/// What became of a lost sale's entry, as far as the record tells.
enum Why {
    /// Confirmed before this race, by the run that used the shop.
    Earlier,
    /// Its append was not synced when the buyer confirmed, and the cut took it (or part).
    EntryNotFlushed {
        confirmed: usize,
        append: usize,
        fate: Fate,
    },
    /// Its entry was flushed, but the log's name never reached the disk.
    NameNotSynced { confirmed: usize, create: usize },
    /// On disk by the record's account, yet missing after recovery.
    Other { confirmed: usize },
}

/// The story's sentences, one per problem that tells something (steps counted from 1).
pub(crate) fn sentences(
    steps: &[Step],
    fates: &HashMap<usize, Fate>,
    problems: &[Problem],
) -> Vec<String> {
    let mut out: Vec<String> = problems
        .iter()
        .filter_map(|p| match p {
            Problem::SaleLost { buyer, seq } => Some(sale_lost(
                *buyer,
                *seq,
                why_lost(steps, fates, *buyer, *seq),
            )),
            _ => None,
        })
        .collect();
    if problems
        .iter()
        .any(|p| matches!(p, Problem::Refused { .. }))
    {
        out.push(tr!("power-story-refused"));
    } else if out.is_empty() {
        out.push(tr!("power-story-broken"));
    }
    out
}

fn sale_lost(buyer: u32, seq: u64, why: Why) -> String {
    match why {
        Why::Earlier => tr!("power-story-earlier", buyer = buyer, seq = seq),
        Why::EntryNotFlushed {
            confirmed,
            append,
            fate,
        } => tr!(
            "power-story-entry-lost",
            buyer = buyer,
            seq = seq,
            confirmed = confirmed + 1,
            append = append + 1,
            fate = match fate {
                Fate::Torn { .. } => "torn",
                Fate::Zeroed => "zeroed",
                Fate::Lost | Fate::Kept => "lost",
            }
        ),
        Why::NameNotSynced { confirmed, create } => tr!(
            "power-story-name-lost",
            buyer = buyer,
            seq = seq,
            confirmed = confirmed + 1,
            create = create + 1
        ),
        Why::Other { confirmed } => tr!(
            "power-story-other",
            buyer = buyer,
            seq = seq,
            confirmed = confirmed + 1
        ),
    }
}

/// Finds the sale's confirmation, its append and the log's creation in the record.
fn why_lost(steps: &[Step], fates: &HashMap<usize, Fate>, buyer: u32, seq: u64) -> Why {
    let confirmed = steps
        .iter()
        .position(|s| matches!(s.op, Op::Confirmed { buyer: b, seq: q } if b == buyer && q == seq));
    let Some(confirmed) = confirmed else {
        return Why::Earlier;
    };
    let pid = u64::from(steps[confirmed].pid);
    let append = steps.iter().position(|s| match &s.op {
        Op::Append { bytes, .. } => entry(bytes)
            .is_some_and(|e| e["seq"].as_u64() == Some(seq) && e["pid"].as_u64() == Some(pid)),
        _ => false,
    });
    let Some(append) = append else {
        return Why::Other { confirmed };
    };
    if let Some(&fate) = fates.get(&append).filter(|f| **f != Fate::Kept) {
        return Why::EntryNotFlushed {
            confirmed,
            append,
            fate,
        };
    }
    let log = match &steps[append].op {
        Op::Append { name, .. } => name.as_str(),
        _ => "",
    };
    let create = steps
        .iter()
        .position(|s| matches!(&s.op, Op::Create { name } if name == log));
    match create {
        Some(create) if fates.get(&create) == Some(&Fate::Lost) => {
            Why::NameNotSynced { confirmed, create }
        }
        _ => Why::Other { confirmed },
    }
}
