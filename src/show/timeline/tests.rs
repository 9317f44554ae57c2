//! The timeline drawn from made-up races.

use super::axis::Unit;
use super::*;
use crate::events::Outcome;

fn at(buyer: u32, t_ms: u64, event: Event) -> Message {
    Message {
        buyer,
        pid: 1000 + buyer,
        t_us: t_ms * 1_000,
        event,
    }
}

fn plain(width: usize) -> Canvas {
    Canvas {
        width,
        max_lanes: MAX_LANES,
        color: false,
        text_width: width,
    }
}

/// The lane of `buyer` between its bars.
fn bar_of(lines: &[String], buyer: u32) -> String {
    let name = format!("buyer-{buyer} ");
    let line = lines.iter().find(|l| l.starts_with(&name)).expect("lane");
    line.split('|').nth(1).expect("bar").to_string()
}

/// Two buyers, one lock: buyer 1 holds it 0..100 ms while buyer 2 waits, then buyer 2.
fn locked_race() -> Vec<Message> {
    vec![
        at(1, 0, Event::Started),
        at(2, 0, Event::Started),
        at(
            1,
            0,
            Event::LockAcquired {
                waited_us: 0,
                granted_ns: 0,
            },
        ),
        at(1, 0, Event::Read { seen: 1 }),
        at(2, 0, Event::LockWait { holder: Some(1001) }),
        at(1, 0, Event::Delay { ms: 100 }),
        at(1, 100, Event::Wrote { ticket_num: 0 }),
        at(1, 100, Event::LockReleased),
        at(
            2,
            100,
            Event::LockAcquired {
                waited_us: 100_000,
                granted_ns: 0,
            },
        ),
        at(2, 100, Event::Read { seen: 0 }),
        at(2, 100, Event::Delay { ms: 100 }),
        at(2, 200, Event::SoldOut { seen: 0 }),
        at(2, 200, Event::LockReleased),
    ]
}

#[test]
fn a_locked_race_shows_one_holder_while_the_other_waits() {
    let lines = render(&locked_race(), &[], 0, &plain(80));
    let first = bar_of(&lines, 1);
    let second = bar_of(&lines, 2);
    assert!(first.starts_with("R===="), "{lines:#?}");
    assert!(first.trim_end().ends_with('W'), "{lines:#?}");
    assert!(second.starts_with("....."), "{lines:#?}");
    assert!(second.trim_end().ends_with('x'), "{lines:#?}");
    // Where buyer 1 holds the lock, buyer 2 only waits.
    for (a, b) in first.chars().zip(second.chars()) {
        assert!(!(a == '=' && b == '='), "both hold the lock{lines:#?}");
    }
    assert!(lines.iter().any(|l| l.ends_with("read 1, wrote 0")));
    assert!(lines.iter().any(|l| l.ends_with("read 0, sold out")));
}

#[test]
fn the_legend_names_only_what_the_picture_uses() {
    let lines = render(&locked_race(), &[], 0, &plain(80));
    let legend = lines[lines.len() - 2..].concat();
    assert!(legend.contains(". waiting for the lock"), "{legend}");
    assert!(legend.contains("= holding the lock"), "{legend}");
    assert!(!legend.contains("network delay without"), "{legend}");
}

#[test]
fn without_the_lock_every_lane_reads_before_the_first_write() {
    let mut events = Vec::new();
    for buyer in 1..=3 {
        events.push(at(buyer, 0, Event::Read { seen: 1 }));
        events.push(at(buyer, 0, Event::Delay { ms: 100 }));
    }
    for buyer in 1..=3 {
        events.push(at(
            buyer,
            100 + u64::from(buyer) * 50,
            Event::Wrote { ticket_num: 0 },
        ));
    }
    let lines = render(&events, &[], 0, &plain(80));
    for buyer in 1..=3 {
        let bar = bar_of(&lines, buyer);
        assert!(bar.starts_with("R---"), "{lines:#?}");
        assert!(bar.contains('W'), "{lines:#?}");
    }
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.ends_with("read 1, wrote 0"))
            .count(),
        3
    );
    let caret = lines
        .iter()
        .find(|l| l.contains("first write (buyer-1)"))
        .expect("a marker under the first write");
    let write_column = lines
        .iter()
        .find(|l| l.starts_with("buyer-1 "))
        .and_then(|l| l.find('W'));
    assert_eq!(caret.find('^'), write_column, "{lines:#?}");
}

#[test]
fn every_line_fits_the_width() {
    for width in [60, 80, 132] {
        for line in render(&locked_race(), &[], 0, &plain(width)) {
            assert!(line.chars().count() <= width, "{width}: {line}");
        }
    }
}

#[test]
fn many_buyers_show_the_first_lanes_and_count_the_rest() {
    let events: Vec<Message> = (1..=50)
        .map(|b| at(b, 0, Event::Read { seen: 3 }))
        .collect();
    let canvas = Canvas {
        max_lanes: 40,
        ..plain(80)
    };
    let lines = render(&events, &[], 0, &canvas);
    assert!(lines.iter().any(|l| l.starts_with("buyer-40 ")));
    assert!(!lines.iter().any(|l| l.starts_with("buyer-41 ")));
    assert!(lines.iter().any(|l| l.contains("10 more buyers not shown")));
}

#[test]
fn attempts_past_the_streamed_ones_are_drawn_as_busy() {
    let events = vec![
        at(1, 0, Event::Read { seen: 9 }),
        at(1, 1, Event::Wrote { ticket_num: 8 }),
        at(
            1,
            100,
            Event::Finished {
                outcome: Outcome::SoldOut,
                searched: 9,
                bought: 500,
                attempts: 501,
                delays_ms: Vec::new(),
                retries: 0,
            },
        ),
    ];
    let lines = render(&events, &[], 0, &plain(80));
    assert!(bar_of(&lines, 1).contains("~~~~"), "{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("bought 500, then sold out")),
        "{lines:#?}"
    );
}

#[test]
fn colour_is_only_added_when_asked_for() {
    let canvas = Canvas {
        color: true,
        ..plain(80)
    };
    assert!(
        render(&locked_race(), &[], 0, &canvas)
            .concat()
            .contains("\x1b[")
    );
    assert!(
        !render(&locked_race(), &[], 0, &plain(80))
            .concat()
            .contains('\x1b')
    );
}

#[test]
fn one_axis_speaks_one_unit() {
    assert_eq!(Unit::for_step(500_000).show(1_500_000), "1500ms");
    assert_eq!(Unit::for_step(1_000_000).show(1_500_000), "1.5s");
    assert_eq!(Unit::for_step(1_000_000).show(2_047_000), "2.05s");
    assert_eq!(Unit::for_step(50_000).show(281_362), "281ms");
    assert_eq!(Unit::for_step(50_000).show(0), "0ms");
    assert_eq!(Unit::for_step(200).show(80), "80us");
    // A long race: its ruler counts whole seconds, never "1500ms" beside "1s".
    let events = vec![
        at(1, 0, Event::Read { seen: 1 }),
        at(1, 2_500, Event::Wrote { ticket_num: 0 }),
    ];
    let lines = render(&events, &[], 0, &plain(80));
    assert!(
        lines[0].starts_with("Timeline (2.5s, one column = "),
        "{lines:#?}"
    );
    assert!(
        lines[0].ends_with("s)") && !lines[0].contains("ms"),
        "{lines:#?}"
    );
    assert!(!lines[1].contains("ms"), "{lines:#?}");
}

#[test]
fn no_events_draw_nothing() {
    assert!(render(&[], &[], 0, &plain(80)).is_empty());
}
