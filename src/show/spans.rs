//! Events → per-buyer spans: when each buyer waited for the lock, held it, and sat in its
//! network delay. The timeline and the trace both draw from these, so they cannot disagree.

use std::collections::BTreeMap;

use crate::events::{Event, Message};

/// What a stretch of one buyer's time was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpanKind {
    /// Waiting in `flock` for `holder` (a pid, if it left one).
    LockWait { holder: Option<u32>, end: WaitEnd },
    /// Holding the lock. `released` is false for a buyer that died holding it: it held the
    /// lock until its last word, and the kernel freed it then.
    Holding { released: bool },
    /// The simulated network delay; `locked` when it was taken holding the lock.
    Delay { ms: u64, locked: bool },
}

/// How a lock wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitEnd {
    Acquired { waited_us: u64 },
    TimedOut,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub kind: SpanKind,
    /// Microseconds on the shared clock.
    pub from: u64,
    pub to: u64,
}

/// One buyer's events, in time order, and the spans they make.
pub(crate) struct BuyerTime<'a> {
    pub buyer: u32,
    pub events: Vec<&'a Message>,
    pub spans: Vec<Span>,
}

/// Every buyer's time, in buyer order.
pub(crate) fn by_buyer(events: &[Message]) -> Vec<BuyerTime<'_>> {
    let mut grouped: BTreeMap<u32, Vec<&Message>> = BTreeMap::new();
    for message in events {
        grouped.entry(message.buyer).or_default().push(message);
    }
    grouped
        .into_iter()
        .map(|(buyer, mine)| BuyerTime {
            buyer,
            spans: spans_of(&mine),
            events: mine,
        })
        .collect()
}

/// Walks one buyer's events in order, opening and closing spans.
fn spans_of(mine: &[&Message]) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut waiting: Option<(u64, Option<u32>)> = None;
    let mut holding: Option<u64> = None;
    for (i, message) in mine.iter().enumerate() {
        let t = message.t_us;
        match &message.event {
            Event::LockWait { holder } => waiting = Some((t, *holder)),
            Event::LockAcquired { waited_us, .. } => {
                let end = WaitEnd::Acquired {
                    waited_us: *waited_us,
                };
                end_wait(&mut spans, &mut waiting, t, end);
                holding = Some(t);
            }
            Event::LockTimedOut { .. } => end_wait(&mut spans, &mut waiting, t, WaitEnd::TimedOut),
            Event::LockReleased => {
                if let Some(from) = holding.take() {
                    spans.push(Span {
                        kind: SpanKind::Holding { released: true },
                        from,
                        to: t,
                    });
                }
            }
            Event::Delay { ms } => spans.push(Span {
                kind: SpanKind::Delay {
                    ms: *ms,
                    locked: holding.is_some(),
                },
                from: t,
                // The delay ends with the buyer's next word.
                to: mine.get(i + 1).map_or(t, |m| m.t_us),
            }),
            _ => {}
        }
    }
    if let (Some(from), Some(last)) = (holding, mine.last()) {
        spans.push(Span {
            kind: SpanKind::Holding { released: false },
            from,
            to: last.t_us,
        });
    }
    spans
}

fn end_wait(spans: &mut Vec<Span>, waiting: &mut Option<(u64, Option<u32>)>, t: u64, end: WaitEnd) {
    if let Some((from, holder)) = waiting.take() {
        spans.push(Span {
            kind: SpanKind::LockWait { holder, end },
            from,
            to: t,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_a_hold_and_a_delay_become_three_spans() {
        let events = [
            Message::at(1, 10, Event::LockWait { holder: Some(7) }),
            Message::at(
                1,
                40,
                Event::LockAcquired {
                    waited_us: 30,
                    granted_ns: 0,
                },
            ),
            Message::at(1, 41, Event::Delay { ms: 0 }),
            Message::at(1, 90, Event::Wrote { ticket_num: 1 }),
            Message::at(1, 95, Event::LockReleased),
        ];
        let time = by_buyer(&events);
        let spans = &time[0].spans;
        assert_eq!(spans.len(), 3);
        assert_eq!((spans[0].from, spans[0].to), (10, 40));
        assert_eq!(
            spans[1].kind,
            SpanKind::Delay {
                ms: 0,
                locked: true
            }
        );
        assert_eq!((spans[1].from, spans[1].to), (41, 90));
        assert_eq!(spans[2].kind, SpanKind::Holding { released: true });
    }

    #[test]
    fn a_buyer_that_died_holding_the_lock_holds_it_to_its_last_event() {
        let events = [
            Message::at(
                2,
                0,
                Event::LockAcquired {
                    waited_us: 0,
                    granted_ns: 0,
                },
            ),
            Message::at(2, 20, Event::Read { seen: 2 }),
        ];
        let spans = &by_buyer(&events)[0].spans;
        assert_eq!(
            spans,
            &[Span {
                kind: SpanKind::Holding { released: false },
                from: 0,
                to: 20
            }]
        );
    }
}
