//! Why a run oversold, in one sentence built from the events: which buyers decided on a
//! count that another buyer's write had already made stale.

use crate::events::{Event, Message};
use crate::report::Status;
use crate::settings::LockScope;

/// The sentence for the report's "Why:" line and the JSON verdict's `cause`; None when the
/// run did not oversell or lose updates.
pub fn explain(scope: LockScope, status: Status, events: &[Message]) -> Option<String> {
    if !matches!(status, Status::Oversold | Status::LostUpdates) {
        return None;
    }
    let how = match scope {
        LockScope::Write => {
            "the lock only covered the write, so each of them then wrote a count it had read before the others' writes"
        }
        _ => "each of them then sold against a count that was already out of date",
    };
    if let Some(sentence) = all_read_before_the_first_write(events, how) {
        return Some(sentence);
    }
    if let Some(sentence) = one_overwritten_read(events) {
        return Some(sentence);
    }
    // Only possible when the overwriting happened past the attempts buyers stream.
    Some(format!(
        "buyers read and wrote the count without one lock around both, so later writes \
         overwrote earlier ones ({}).",
        match scope {
            LockScope::Write => "the lock only covered the write",
            _ => "there was no lock",
        }
    ))
}

/// The lesson's race: several buyers read the same count before anyone wrote.
fn all_read_before_the_first_write(events: &[Message], how: &str) -> Option<String> {
    let first_write = events
        .iter()
        .find(|m| matches!(m.event, Event::Wrote { .. }))?
        .t_us;
    let stale: Vec<(u32, u64)> = events
        .iter()
        .filter(|m| m.t_us < first_write)
        .filter_map(|m| match m.event {
            Event::Read { seen } if seen > 0 => Some((m.buyer, seen)),
            _ => None,
        })
        .collect();
    let mut buyers: Vec<u32> = stale.iter().map(|&(buyer, _)| buyer).collect();
    buyers.sort_unstable();
    buyers.dedup();
    if buyers.len() < 2 {
        return None;
    }
    let who: Vec<String> = buyers.iter().map(u32::to_string).collect();
    Some(format!(
        "buyers {} all read ticket_num = {} before anyone wrote - {how}.",
        and_list(&who, 10),
        stale[0].1
    ))
}

/// A staggered race: one buyer's read was overwritten by another's write before its own.
fn one_overwritten_read(events: &[Message]) -> Option<String> {
    for (i, read) in events.iter().enumerate() {
        let Event::Read { seen } = read.event else {
            continue;
        };
        let later = &events[i + 1..];
        let Some(own) = later
            .iter()
            .find(|m| m.buyer == read.buyer && matches!(m.event, Event::Wrote { .. }))
        else {
            continue;
        };
        let overwritten = later.iter().find(|m| {
            m.buyer != read.buyer
                && matches!(m.event, Event::Wrote { .. })
                && m.t_us > read.t_us
                && m.t_us < own.t_us
        });
        if let (Some(other), Event::Wrote { ticket_num: mine }) = (overwritten, &own.event) {
            let Event::Wrote { ticket_num: theirs } = other.event else {
                continue;
            };
            return Some(format!(
                "buyer {} read ticket_num = {seen}, then buyer {} wrote {theirs} before buyer {} \
                 wrote its own {mine} - a sale was overwritten because nothing kept the read \
                 and the write together.",
                read.buyer, other.buyer, read.buyer
            ));
        }
    }
    None
}

/// "1", "1 and 2", "1, 2 and 3", or the first `max` and how many more.
fn and_list(items: &[String], max: usize) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] if items.len() <= max => format!("{} and {last}", init.join(", ")),
        _ => format!(
            "{}, ... ({} more)",
            items[..max].join(", "),
            items.len() - max
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(buyer: u32, t_us: u64, event: Event) -> Message {
        Message::at(buyer, t_us, event)
    }

    #[test]
    fn a_correct_run_needs_no_explanation() {
        assert_eq!(explain(LockScope::Whole, Status::Ok, &[]), None);
    }

    #[test]
    fn buyers_who_all_read_before_the_first_write_are_named() {
        let events = [
            at(1, 0, Event::Read { seen: 1 }),
            at(4, 1, Event::Read { seen: 1 }),
            at(7, 2, Event::Read { seen: 1 }),
            at(1, 9, Event::Wrote { ticket_num: 0 }),
        ];
        let why = explain(LockScope::None, Status::Oversold, &events).unwrap();
        assert!(
            why.starts_with("buyers 1, 4 and 7 all read ticket_num = 1 before anyone wrote"),
            "{why}"
        );
    }

    #[test]
    fn a_staggered_race_names_the_overwritten_read() {
        let events = [
            at(1, 0, Event::Read { seen: 5 }),
            at(1, 5, Event::Wrote { ticket_num: 4 }),
            at(2, 6, Event::Read { seen: 4 }),
            at(3, 7, Event::Wrote { ticket_num: 3 }),
            at(2, 9, Event::Wrote { ticket_num: 3 }),
        ];
        let why = explain(LockScope::None, Status::LostUpdates, &events).unwrap();
        assert!(
            why.starts_with("buyer 2 read ticket_num = 4, then buyer 3 wrote 3 before buyer 2"),
            "{why}"
        );
    }

    #[test]
    fn long_lists_are_cut() {
        let items: Vec<String> = (1..=12).map(|n| n.to_string()).collect();
        assert_eq!(
            and_list(&items, 10),
            "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ... (2 more)"
        );
        assert_eq!(and_list(&items[..2], 10), "1 and 2");
    }
}
