//! `--trace FILE`: the run's events in the Chrome Trace Event format, one process lane per
//! buyer, so the race opens in Perfetto (ui.perfetto.dev) or chrome://tracing.

use std::path::Path;

use serde_json::{Value, json};

use super::out_file::{OutFile, OutKind};
use super::spans::{self, BuyerTime, SpanKind, WaitEnd};
use crate::events::{Event, Message};
use crate::exit::Result;

/// The trace file, created before the race so a bad path fails before any buyer starts.
pub(crate) struct TraceFile(OutFile);

impl TraceFile {
    pub(crate) fn create(path: &Path) -> Result<TraceFile> {
        OutFile::create(OutKind::Trace, path).map(TraceFile)
    }

    pub(crate) fn write(self, events: &[Message]) -> Result<()> {
        self.0.finish(|out| {
            serde_json::to_writer(out, &document(events)).map_err(std::io::Error::from)
        })
    }
}

/// The whole trace: `{"traceEvents": [...], "displayTimeUnit": "ms", ...}`. Timestamps are
/// the shared clock's microseconds, which is the format's own unit.
pub(crate) fn document(events: &[Message]) -> Value {
    let mut trace = Vec::new();
    for time in spans::by_buyer(events) {
        trace.extend(buyer_events(&time));
    }
    // Viewers nest slices by start time; at equal starts the longer (outer) slice goes first.
    trace.sort_by_key(|e| {
        (
            e["ph"] != "M",
            e["ts"].as_u64().unwrap_or(0),
            std::cmp::Reverse(e["dur"].as_u64().unwrap_or(0)),
        )
    });
    json!({
        "traceEvents": trace,
        "displayTimeUnit": "ms",
        "otherData": { "generator": concat!("grab-tickets ", env!("CARGO_PKG_VERSION")) },
    })
}

/// One buyer's lane: its name, the spans it waited for and held the lock, its delays, and an
/// instant for everything else it reported.
fn buyer_events(time: &BuyerTime) -> Vec<Value> {
    let Some(first) = time.events.first() else {
        return Vec::new();
    };
    let pid = first.pid;
    let name = format!("buyer-{}", time.buyer);
    let mut out = vec![
        json!({"name": "process_name", "ph": "M", "pid": pid, "tid": pid, "args": {"name": name}}),
        json!({"name": "process_sort_index", "ph": "M", "pid": pid, "tid": pid,
               "args": {"sort_index": time.buyer}}),
        json!({"name": "thread_name", "ph": "M", "pid": pid, "tid": pid, "args": {"name": name}}),
    ];
    for s in &time.spans {
        let (name, cat, args) = match s.kind {
            SpanKind::LockWait {
                holder,
                end: WaitEnd::Acquired { waited_us },
            } => (
                "lock wait",
                "lock",
                json!({"holder_pid": holder, "waited_us": waited_us}),
            ),
            SpanKind::LockWait {
                holder,
                end: WaitEnd::TimedOut,
            } => (
                "lock wait",
                "lock",
                json!({"holder_pid": holder, "timed_out": true}),
            ),
            SpanKind::Holding { released: true } => ("critical section", "lock", json!({})),
            SpanKind::Holding { released: false } => {
                ("critical section", "lock", json!({"never_released": true}))
            }
            SpanKind::Delay { ms, .. } => ("network delay", "delay", json!({"ms": ms})),
        };
        out.push(json!({"name": name, "cat": cat, "ph": "X", "ts": s.from,
                        "dur": s.to.saturating_sub(s.from), "pid": pid, "tid": pid, "args": args}));
    }
    for message in &time.events {
        if let Some((name, args)) = instant(&message.event) {
            out.push(json!({"name": name, "cat": "buyer", "ph": "i", "s": "t",
                            "ts": message.t_us, "pid": pid, "tid": pid, "args": args}));
        }
    }
    out
}

/// The instant an event is drawn as, or None for the events that open or close spans.
fn instant(event: &Event) -> Option<(&'static str, Value)> {
    Some(match event {
        Event::Spawned => ("spawned", json!({})),
        Event::Ready => ("ready", json!({})),
        Event::Started => ("started", json!({})),
        Event::Searched { seen } => ("searched", json!({"seen": seen})),
        Event::LockTimedOut { holder } => ("lock timeout", json!({"holder_pid": holder})),
        Event::Relocked { lock_file } => ("relocked", json!({"lock_file": lock_file})),
        Event::LockLost { lock_file } => ("lock lost", json!({"lock_file": lock_file})),
        Event::Read { seen } => ("read", json!({"ticket_num": seen})),
        Event::Ordered { seq, before, after } => (
            "ordered",
            json!({"seq": seq, "before": before, "after": after}),
        ),
        Event::Wrote { ticket_num } => ("wrote", json!({"ticket_num": ticket_num})),
        Event::SoldOut { seen } => ("sold out", json!({"seen": seen})),
        Event::Retried { seen } => ("retried", json!({"seen": seen})),
        Event::Recovered {
            seq,
            of_buyer,
            of_pid,
            after,
        } => (
            "recovered",
            json!({"seq": seq, "of_buyer": of_buyer, "of_pid": of_pid, "after": after}),
        ),
        Event::Finished {
            outcome,
            bought,
            attempts,
            ..
        } => (
            "finished",
            json!({"outcome": outcome, "bought": bought, "attempts": attempts}),
        ),
        Event::Killed { step, attempt } => ("killed", json!({"step": step, "attempt": attempt})),
        Event::Paused { before } => ("paused", json!({"before": before})),
        Event::Failed {
            message, exit_code, ..
        } => (
            "failed",
            json!({"message": message, "exit_code": exit_code}),
        ),
        Event::LockWait { .. }
        | Event::LockAcquired { .. }
        | Event::LockReleased
        | Event::Delay { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(buyer: u32, t_us: u64, event: Event) -> Message {
        Message::at(buyer, t_us, event)
    }

    fn named<'a>(doc: &'a Value, name: &str) -> Vec<&'a Value> {
        doc["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["name"] == name)
            .collect()
    }

    #[test]
    fn each_buyer_is_a_named_process_lane() {
        let doc = document(&[at(1, 0, Event::Started), at(2, 5, Event::Started)]);
        let names = named(&doc, "process_name");
        assert_eq!(names.len(), 2);
        assert_eq!(names[0]["pid"], 101);
        assert_eq!(names[0]["args"]["name"], "buyer-1");
        assert_eq!(names[1]["args"]["name"], "buyer-2");
    }

    #[test]
    fn the_lock_becomes_a_wait_span_and_a_critical_section() {
        let doc = document(&[
            at(1, 10, Event::LockWait { holder: Some(7) }),
            at(
                1,
                40,
                Event::LockAcquired {
                    waited_us: 30,
                    granted_ns: 0,
                },
            ),
            at(1, 40, Event::Read { seen: 2 }),
            at(1, 41, Event::Delay { ms: 0 }),
            at(1, 90, Event::Wrote { ticket_num: 1 }),
            at(1, 95, Event::LockReleased),
        ]);
        let wait = named(&doc, "lock wait");
        assert_eq!(
            (wait[0]["ts"].as_u64(), wait[0]["dur"].as_u64()),
            (Some(10), Some(30))
        );
        assert_eq!(wait[0]["args"]["holder_pid"], 7);
        let held = named(&doc, "critical section");
        assert_eq!(
            (held[0]["ts"].as_u64(), held[0]["dur"].as_u64()),
            (Some(40), Some(55))
        );
        assert_eq!(held[0]["ph"], "X");
        let read = named(&doc, "read");
        assert_eq!(
            (read[0]["ph"].as_str(), read[0]["ts"].as_u64()),
            (Some("i"), Some(40))
        );
        assert_eq!(named(&doc, "network delay")[0]["dur"], 49);
    }

    #[test]
    fn a_buyer_killed_holding_the_lock_holds_it_to_its_last_event() {
        let doc = document(&[
            at(
                1,
                0,
                Event::LockAcquired {
                    waited_us: 0,
                    granted_ns: 0,
                },
            ),
            at(1, 20, Event::Read { seen: 2 }),
        ]);
        let held = named(&doc, "critical section");
        assert_eq!(held[0]["dur"], 20);
        assert_eq!(held[0]["args"]["never_released"], true);
    }
}
