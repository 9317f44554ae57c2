//! The facts of one finished run, worked out once from its events and its reconciled
//! result: every write of the count and whether the count it was decided on was stale, who
//! got which ticket, and the run's time zero. The report, "Why:", `--json`, the stepped
//! run's lines, the page and explore's summary read these facts; none walks the events for
//! them again. (The live narration and the interactive board speak while the race runs, from
//! the events as they come; the timeline draws the events themselves.)

use std::collections::HashMap;

use crate::events::{Event, Message};
use crate::report::{self, RunResult};

/// One run's facts.
pub(crate) struct Story {
    /// Every write of the count, in time order.
    pub sales: Vec<Sale>,
    /// Some buyer made more attempts than it narrated (a throughput run).
    pub streamed_in_part: bool,
    /// Who got which ticket, highest ticket first.
    pub tickets: Vec<report::Sale>,
    /// The starting gun on the events' clock.
    pub gun_us: u64,
}

impl Story {
    pub(crate) fn of(result: &RunResult) -> Story {
        Story {
            gun_us: result.gun_us,
            ..Story::of_events(&result.events)
        }
    }

    /// The facts the events alone give (the gun at 0).
    pub(crate) fn of_events(events: &[Message]) -> Story {
        Story {
            sales: sales(events),
            streamed_in_part: streamed_in_part(events),
            tickets: report::tickets_sold(events),
            gun_us: 0,
        }
    }
}

/// One write of the count by a buyer, and whether the count it had read was still the data
/// file's when it wrote.
pub(crate) struct Sale {
    pub buyer: u32,
    pub read: u64,
    pub stale: bool,
}

/// Walks the events in time order, following what the data file says.
fn sales(events: &[Message]) -> Vec<Sale> {
    let mut file: Option<u64> = None;
    let mut last_read: HashMap<u32, u64> = HashMap::new();
    let mut sales = Vec::new();
    for m in events {
        match m.event {
            Event::Searched { seen } => {
                file.get_or_insert(seen);
            }
            Event::Read { seen } => {
                file.get_or_insert(seen);
                last_read.insert(m.buyer, seen);
            }
            Event::Recovered { after, .. } => file = Some(after),
            Event::Wrote { ticket_num } => {
                if let Some(&read) = last_read.get(&m.buyer) {
                    sales.push(Sale {
                        buyer: m.buyer,
                        read,
                        stale: file != Some(read),
                    });
                }
                file = Some(ticket_num);
            }
            _ => {}
        }
    }
    sales
}

/// Whether some buyer made more attempts than it narrated (throughput runs).
fn streamed_in_part(events: &[Message]) -> bool {
    events.iter().any(|m| match m.event {
        Event::Finished { attempts, .. } => {
            let reads = events
                .iter()
                .filter(|e| e.buyer == m.buyer && matches!(e.event, Event::Read { .. }))
                .count() as u64;
            attempts > reads
        }
        _ => false,
    })
}
