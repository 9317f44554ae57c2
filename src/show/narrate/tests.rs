//! The narration told from made-up events: merging, turns at the lock, wording.

use super::steps::lock_lost_words;
use super::*;
use crate::events::LockFileChange;
use crate::settings::Step;

fn at(buyer: u32, t_us: u64, event: Event) -> Message {
    Message::at(buyer, t_us, event)
}

/// Feeds `events` to a narrator, a quiet moment after each batch of one millisecond.
fn told(detail: Detail, events: &[Message]) -> Vec<String> {
    told_in(detail, 80, events)
}

/// As `told`, on a screen `width` columns wide.
fn told_in(detail: Detail, width: usize, events: &[Message]) -> Vec<String> {
    let mut narrator = Narrator::new(detail, 10, width);
    let mut lines: Vec<String> = events.iter().flat_map(|m| narrator.event(m)).collect();
    lines.extend(narrator.finish());
    lines
}

fn locked_start() -> Vec<Message> {
    let mut events: Vec<Message> = (1..=10)
        .map(|b| at(b, 4_000 + u64::from(b), Event::Searched { seen: 3 }))
        .collect();
    events.push(at(
        1,
        4_100,
        Event::LockAcquired {
            waited_us: 0,
            granted_ns: 0,
        },
    ));
    events.push(at(1, 4_110, Event::Read { seen: 3 }));
    events.push(at(1, 4_120, Event::Delay { ms: 136 }));
    events.extend((2..=10).map(|b| {
        at(
            b,
            4_200 + u64::from(b),
            Event::LockWait { holder: Some(101) },
        )
    }));
    events
}

#[test]
fn simultaneous_identical_steps_are_said_once() {
    let lines = told(Detail::Phrases, &locked_start());
    assert_eq!(
        lines,
        [
            " 0.004s buyers 1–10 search: each sees 3 tickets left",
            " 0.004s buyer-1  takes the lock, reads ticket_num = 3, network delay 136 ms ...",
            " 0.004s buyers 2–10 wait for the lock, held by buyer-1",
        ]
    );
}

#[test]
fn a_turn_at_the_lock_is_two_lines() {
    let mut events = locked_start();
    events.extend([
        at(1, 140_000, Event::Wrote { ticket_num: 2 }),
        at(1, 140_010, Event::LockReleased),
        at(
            2,
            140_020,
            Event::LockAcquired {
                waited_us: 136_000,
                granted_ns: 0,
            },
        ),
        at(2, 140_030, Event::Read { seen: 2 }),
        at(2, 140_040, Event::Delay { ms: 242 }),
        at(
            1,
            141_000,
            Event::Ordered {
                seq: 2,
                before: 3,
                after: 2,
            },
        ),
    ]);
    let lines = told(Detail::Phrases, &events);
    assert_eq!(
        lines[3..],
        [
            " 0.140s buyer-1  writes ticket_num = 2, releases the lock; BOUGHT, order #2",
            " 0.140s buyer-2  takes the lock, reads ticket_num = 2, network delay 242 ms ...",
        ]
    );
}

#[test]
fn a_slow_start_is_still_one_line_that_says_how_slow() {
    let events: Vec<Message> = (1..=4)
        .map(|b| at(b, 4_000 + u64::from(b) * 6_000, Event::Searched { seen: 3 }))
        .collect();
    let lines = told(Detail::Phrases, &events);
    assert_eq!(
        lines,
        [" 0.010s buyers 1–4 search: each sees 3 tickets left (within 18 ms)"]
    );
}

#[test]
fn steps_far_apart_are_told_apart() {
    let mut events: Vec<Message> = (1..=2)
        .flat_map(|b| {
            [
                at(b, 1_000, Event::Searched { seen: 3 }),
                at(b, 1_001, Event::Read { seen: 3 }),
                at(b, 1_002, Event::Delay { ms: 100 }),
            ]
        })
        .collect();
    events.extend([
        at(1, 100_000, Event::Wrote { ticket_num: 2 }),
        at(
            1,
            100_100,
            Event::Ordered {
                seq: 5,
                before: 3,
                after: 2,
            },
        ),
        at(2, 150_000, Event::Wrote { ticket_num: 2 }),
        at(
            2,
            150_100,
            Event::Ordered {
                seq: 5,
                before: 3,
                after: 2,
            },
        ),
    ]);
    let lines = told(Detail::Phrases, &events);
    assert_eq!(
        lines[2..],
        [
            " 0.100s buyer-1  writes ticket_num = 2; BOUGHT, order #5",
            " 0.150s buyer-2  writes ticket_num = 2; BOUGHT, order #5 again",
        ]
    );
}

#[test]
fn racing_reads_merge_with_their_range_of_delays() {
    let events: Vec<Message> = (1..=4)
        .flat_map(|b| {
            [
                at(b, 5_000, Event::Read { seen: 3 }),
                at(
                    b,
                    5_001,
                    Event::Delay {
                        ms: 100 + u64::from(b),
                    },
                ),
            ]
        })
        .collect();
    let lines = told(Detail::Phrases, &events);
    assert_eq!(
        lines,
        [" 0.005s buyers 1–4 read ticket_num = 3, network delays 101–104 ms ..."]
    );
}

#[test]
fn a_chaos_death_is_told_with_the_lock_it_held() {
    let events = [
        at(
            7,
            1_000,
            Event::LockAcquired {
                waited_us: 0,
                granted_ns: 0,
            },
        ),
        at(7, 1_001, Event::Read { seen: 2 }),
        at(7, 1_002, Event::Delay { ms: 100 }),
        at(
            7,
            51_000,
            Event::Killed {
                step: Step::InDelay,
                attempt: 1,
            },
        ),
        at(
            8,
            51_100,
            Event::LockAcquired {
                waited_us: 50_000,
                granted_ns: 0,
            },
        ),
    ];
    // Wide enough that nothing wraps: the line is checked whole.
    let lines = told_in(Detail::Phrases, 200, &events);
    assert_eq!(
        lines[1],
        " 0.051s buyer-7  KILLED by fault injection at in_delay, holding the lock: the kernel \
         frees it",
        "{lines:#?}"
    );
    assert_eq!(lines[2], " 0.051s buyer-8  takes the lock", "{lines:#?}");
}

#[test]
fn every_step_gets_its_own_line_when_verbose() {
    let lines = told(Detail::EveryStep, &locked_start());
    assert_eq!(lines.len(), locked_start().len());
    assert!(lines[0].ends_with("buyer-1  (pid 101) searches: sees 3 tickets left"));
}

#[test]
fn a_silent_buyer_does_not_hold_back_the_others_forever() {
    let mut narrator = Narrator::new(Detail::Phrases, 10, 80);
    narrator.hold_at_most = Duration::from_secs(3600);
    narrator.hold_for_twins = Duration::ZERO;
    // Buyer 1 writes and goes silent (its confirmation never comes).
    assert!(
        narrator
            .event(&at(1, 1_000, Event::Wrote { ticket_num: 2 }))
            .is_empty()
    );
    let mut lines = narrator.event(&at(2, 1_500, Event::Searched { seen: 2 }));
    lines.extend(narrator.quiet());
    assert!(lines.is_empty(), "{lines:?}");
    // Once it has been silent longer than the narrator waits, it is told as far as it got.
    narrator.hold_at_most = Duration::ZERO;
    let lines = narrator.quiet();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].contains("buyer-1  writes ticket_num = 2"));
}

fn said(event: Event) -> String {
    Narrator::new(Detail::EveryStep, 2, usize::MAX).event(&Message::at(2, 1_500, event))[0].clone()
}

#[test]
fn a_lost_lock_file_is_told_as_it_happened() {
    assert_eq!(
        said(Event::Relocked {
            lock_file: LockFileChange::Deleted
        }),
        " 0.002s buyer-2 the lock file was deleted; locked the new one"
    );
    assert!(
        said(Event::Relocked {
            lock_file: LockFileChange::Replaced
        })
        .ends_with("the lock file was deleted or replaced; locked the new one")
    );
    assert!(
        said(Event::LockLost {
            lock_file: LockFileChange::Deleted
        })
        .ends_with(
            "the lock file was deleted while it held the lock, so the lock no longer \
             kept anyone out: writes nothing, lets go and starts the purchase again"
        )
    );
}

#[test]
fn a_lost_lock_file_has_its_phrase_too() {
    let events = [
        at(
            2,
            1_000,
            Event::Relocked {
                lock_file: LockFileChange::Deleted,
            },
        ),
        at(
            2,
            1_001,
            Event::LockAcquired {
                waited_us: 0,
                granted_ns: 0,
            },
        ),
        at(2, 1_002, Event::Read { seen: 1 }),
        at(2, 1_003, Event::Delay { ms: 10 }),
        at(
            2,
            11_000,
            Event::LockLost {
                lock_file: LockFileChange::Deleted,
            },
        ),
        at(2, 11_001, Event::LockReleased),
    ];
    // Wide, so the lines are checked whole.
    let lines = told_in(Detail::Phrases, usize::MAX, &events);
    assert_eq!(
        lines,
        [
            " 0.001s buyer-2  the lock file was deleted; locked the new one".to_string(),
            " 0.001s buyer-2  takes the lock, reads ticket_num = 1, network delay 10 ms ..."
                .to_string(),
            format!(
                " 0.011s buyer-2  {}",
                lock_lost_words(LockFileChange::Deleted)
            ),
        ]
    );
}

#[test]
fn buyers_who_held_the_lock_one_after_another_are_said_in_turn() {
    // --lock-scope write, no delay: buyers 3 and 6 each lock, write and unlock within 5 ms.
    let mut events = Vec::new();
    for (b, t) in [(3, 10_000), (6, 10_400)] {
        events.push(at(
            b,
            t,
            Event::LockAcquired {
                waited_us: 0,
                granted_ns: 0,
            },
        ));
        events.push(at(b, t + 100, Event::Wrote { ticket_num: 2 }));
        events.push(at(b, t + 200, Event::LockReleased));
    }
    let lines = told_in(Detail::Phrases, usize::MAX, &events);
    assert_eq!(
        lines,
        [" 0.010s buyers 3 and 6 in turn: take the lock, write ticket_num = 2, release the lock"]
    );
}

#[test]
fn one_buyers_two_moments_are_never_one_line() {
    let events = [
        at(4, 10_000, Event::LockWait { holder: Some(101) }),
        at(4, 10_500, Event::LockWait { holder: Some(101) }),
    ];
    let lines = told_in(Detail::Phrases, usize::MAX, &events);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines.iter().all(|l| l.contains("buyer-4  waits for")),
        "{lines:#?}"
    );
}

#[test]
fn a_wait_for_an_unnamed_holder_names_the_buyer_known_to_hold_it() {
    let events = [
        at(
            1,
            1_000,
            Event::LockAcquired {
                waited_us: 0,
                granted_ns: 0,
            },
        ),
        at(2, 1_100, Event::LockWait { holder: None }),
    ];
    let lines = told_in(Detail::EveryStep, usize::MAX, &events);
    assert!(
        lines[1].ends_with("waits for the lock, held by buyer-1"),
        "{lines:#?}"
    );
    let alone = told_in(Detail::EveryStep, usize::MAX, &events[1..]);
    assert!(
        alone[0].ends_with("buyer-2  waits for the lock (its holder has written no pid)"),
        "{alone:#?}"
    );
}

#[test]
fn the_clock_starts_at_the_gun() {
    let mut narrator = Narrator::new(Detail::EveryStep, 2, usize::MAX);
    narrator.gun(20_000);
    let lines = narrator.event(&at(1, 62_000, Event::Read { seen: 3 }));
    assert!(lines[0].starts_with(" 0.042s buyer-1"), "{lines:#?}");
}
