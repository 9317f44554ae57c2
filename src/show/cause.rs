//! Why a run oversold, built from the events: every buyer whose sale was decided on a count
//! that another buyer's write had already changed, grouped by the count they read. A buyer
//! whose write found the count it had read is not blamed, even in a race.

use std::collections::{BTreeMap, BTreeSet};

use super::problems::participant_name;
use super::story::{Sale, Story};
use super::words::{Store, and_list, buyer_set};
use crate::lang::tr;
use crate::report::{RunResult, Status};
use crate::settings::{LockScope, Settings};

/// The report's "Why:" and the JSON verdict's `cause`: where overselling came from, in one
/// sentence built from the events; None when nothing went wrong.
pub(crate) fn why(settings: &Settings, result: &RunResult, story: &Story) -> Option<String> {
    let t = &result.tally;
    let bad = matches!(t.status(), Status::Oversold | Status::LostUpdates);
    // This run's own buyers held the lock over every purchase, and by themselves they sold
    // no more than the stock: whatever went wrong came from the others in its window.
    if bad
        && settings.scope() == LockScope::Whole
        && t.sold_by_others > 0
        && t.confirmed <= t.initial
    {
        let names: Vec<String> = result
            .others
            .iter()
            .map(|p| participant_name(&p.run, p.grab_tickets))
            .collect();
        return Some(tr!(
            "why-others",
            names = names.join(&tr!("list-separator"))
        ));
    }
    if t.status() == Status::ProtocolViolation {
        return Some(tr!(
            "why-protocol-violation",
            ledger = Store::of(settings).ledger()
        ));
    }
    if t.status() == Status::ChangedOutside {
        return Some(tr!(
            "why-changed-outside",
            stock = Store::of(settings).stock()
        ));
    }
    if t.status() == Status::StockUnknown {
        let store = Store::of(settings);
        return Some(match t.logged {
            Some(_) => tr!("why-stock-unknown", stock = store.stock()),
            None => tr!(
                "why-books-unknown",
                stock = store.stock(),
                ledger = store.ledger()
            ),
        });
    }
    explain(settings.scope(), t.status(), story)
}

/// What the lock did and did not cover, as the last sentence of "Why:".
fn how(scope: LockScope) -> String {
    match scope {
        LockScope::None => tr!("why-how-none"),
        LockScope::Write => tr!("why-how-write"),
        LockScope::Whole => tr!("why-how-whole"),
    }
}

/// The sentences for a run that oversold or lost updates, from its events alone.
pub(crate) fn explain(scope: LockScope, status: Status, story: &Story) -> Option<String> {
    if !matches!(status, Status::Oversold | Status::LostUpdates) {
        return None;
    }
    let how = how(scope);
    let sales = &story.sales;
    let stale: Vec<&Sale> = sales.iter().filter(|s| s.stale).collect();
    if stale.is_empty() {
        // Only possible when the overwriting happened past the attempts buyers stream.
        return Some(tr!("why-unstreamed", how = how));
    }
    // Highest count first: the order in which the race went stale.
    let mut by_count: BTreeMap<std::cmp::Reverse<u64>, Vec<u32>> = BTreeMap::new();
    for sale in &stale {
        by_count
            .entry(std::cmp::Reverse(sale.read))
            .or_default()
            .push(sale.buyer);
    }
    let groups: Vec<String> = by_count
        .iter()
        .enumerate()
        .map(|(i, (count, buyers))| {
            let key = if i == 0 {
                "why-group-first"
            } else {
                "why-group"
            };
            tr!(key, who = buyer_set(buyers), n = count.0)
        })
        .collect();
    let stale_buyers: BTreeSet<u32> = stale.iter().map(|s| s.buyer).collect();
    let mut sentence = tr!("why-stale", groups = and_list(&groups), n = stale.len());
    let current: Vec<u32> = sales
        .iter()
        .filter(|s| !s.stale && !stale_buyers.contains(&s.buyer))
        .map(|s| s.buyer)
        .collect();
    if !current.is_empty() {
        sentence.push_str(&tr!("why-current", who = buyer_set(&current)));
    }
    if story.streamed_in_part {
        sentence.push_str(&tr!("why-in-part"));
    }
    Some(tr!("why-sentence", sentence = sentence, how = how))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Event, Message};

    fn at(buyer: u32, t_us: u64, event: Event) -> Message {
        Message::at(buyer, t_us, event)
    }

    #[test]
    fn a_correct_run_needs_no_explanation() {
        assert_eq!(
            explain(LockScope::Whole, Status::Ok, &Story::of_events(&[])),
            None
        );
    }

    #[test]
    fn the_first_writer_is_not_blamed() {
        let events = [
            at(1, 0, Event::Read { seen: 1 }),
            at(4, 1, Event::Read { seen: 1 }),
            at(7, 2, Event::Read { seen: 1 }),
            at(1, 9, Event::Wrote { ticket_num: 0 }),
            at(4, 10, Event::Wrote { ticket_num: 0 }),
            at(7, 11, Event::Wrote { ticket_num: 0 }),
        ];
        let why = explain(
            LockScope::None,
            Status::Oversold,
            &Story::of_events(&events),
        )
        .unwrap();
        assert_eq!(
            why,
            "buyers 4 and 7 read ticket_num = 1, but another buyer wrote between their read and \
             their write, so they sold against out-of-date counts; buyer-1 sold against the \
             current count. With no lock, nothing kept a buyer's read and its write together."
        );
    }

    #[test]
    fn every_stale_buyer_is_named_grouped_by_the_count_it_read() {
        // Buyers 1-5 read 3; buyer 1 writes 2; buyers 6-10 read 2; then everyone else writes.
        let mut events: Vec<Message> = (1..=5)
            .map(|b| at(b, u64::from(b), Event::Read { seen: 3 }))
            .collect();
        events.push(at(1, 10, Event::Wrote { ticket_num: 2 }));
        events.extend((6..=10).map(|b| at(b, 10 + u64::from(b), Event::Read { seen: 2 })));
        events.extend((2..=5).map(|b| at(b, 30 + u64::from(b), Event::Wrote { ticket_num: 2 })));
        events.extend((6..=10).map(|b| at(b, 40 + u64::from(b), Event::Wrote { ticket_num: 1 })));
        let why = explain(
            LockScope::None,
            Status::Oversold,
            &Story::of_events(&events),
        )
        .unwrap();
        // Buyer 6 wrote 1 onto the 2 it had read: up to date. The others were not.
        assert!(
            why.starts_with(
                "buyers 2–5 read ticket_num = 3 and buyers 7–10 read 2, but another buyer wrote"
            ),
            "{why}"
        );
        assert!(
            why.contains("; buyers 1 and 6 sold against the current count."),
            "{why}"
        );
    }

    #[test]
    fn locking_only_the_write_is_named_as_the_mistake() {
        let events = [
            at(1, 0, Event::Read { seen: 5 }),
            at(2, 1, Event::Read { seen: 5 }),
            at(1, 5, Event::Wrote { ticket_num: 4 }),
            at(2, 7, Event::Wrote { ticket_num: 4 }),
        ];
        let why = explain(
            LockScope::Write,
            Status::LostUpdates,
            &Story::of_events(&events),
        )
        .unwrap();
        assert!(
            why.starts_with(
                "buyer-2 read ticket_num = 5, but another buyer wrote between its read"
            ),
            "{why}"
        );
        assert!(
            why.ends_with(
                "The lock covered only the write, not the read before it, so it came too late."
            ),
            "{why}"
        );
    }
}
