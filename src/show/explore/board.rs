//! `explore --interactive`: the opening lines, the board before every move, the prompt and
//! help, and the lessons said the moment they happen (a wait at the lock, a stale write).

use crate::safe_text::OneLine;
use std::fmt::Write as _;

use super::legend;
use crate::events::{Event, Message};
use crate::lang::tr;
use crate::race::stepper::{Floor, Position, Stuck};
use crate::report::Status;
use crate::settings::{Exploration, LockScope};
use crate::show::words::{buyer, describe_move, lock_scope, pad};

/// `--interactive`'s opening lines.
pub(crate) fn intro(exploration: &Exploration) -> String {
    tr!(
        "board-intro",
        buyers = tr!("count-buyers", n = exploration.buyers),
        tickets = tr!("count-tickets", n = exploration.tickets),
        lock = lock_scope(exploration.scope),
        data = exploration.data.one_line(),
        moves = legend(exploration.scope)
    )
}

/// The state before a move: the data file's count, the lock, and where every buyer is.
pub(crate) fn board(floor: &Floor, ticket_num: Option<u64>) -> String {
    let count = match ticket_num {
        Some(n) => tr!("board-count", n = n),
        None => tr!("board-unreadable"),
    };
    let lock = match (floor.scope(), floor.holder(), floor.waiter()) {
        (LockScope::None, _, _) => tr!("board-no-lock"),
        (_, None, _) => tr!("board-lock-free"),
        (_, Some(holder), None) => tr!("board-held", holder = buyer(holder)),
        (_, Some(holder), Some(waiter)) => tr!(
            "board-held-waited",
            holder = buyer(holder),
            waiter = buyer(waiter)
        ),
    };
    let mut out = tr!("board-state", count = count, lock = lock);
    // Room for "buyer-999", so the moves line up whatever the number of buyers.
    let label = crate::show::words::width(&buyer(999));
    for b in 1..=floor.buyers() {
        let place = match floor.position(b) {
            Position::Before(mv) => tr!(
                "board-next",
                key = format!("{b}{}", mv.letter()),
                what = describe_move(mv)
            ),
            Position::Waiting => tr!("board-blocked", holder = buyer(floor.holder().unwrap_or(0))),
            Position::Moving | Position::Done => tr!("board-done"),
        };
        let _ = write!(out, "\n  {} {place}", pad(&buyer(b), label));
    }
    out
}

pub(crate) fn prompt(floor: &Floor) -> String {
    tr!("board-prompt", n = floor.buyers())
}

/// What to type when the answer was not a buyer's number.
pub(crate) fn retype(floor: &Floor) -> String {
    tr!("board-retype", n = floor.buyers())
}

pub(crate) fn help(scope: LockScope) -> String {
    let mut out = tr!("board-help");
    for mv in scope.moves() {
        let _ = write!(out, "\n  {}  {}", mv.letter(), describe_move(*mv));
    }
    out.push('\n');
    out.push_str(&tr!("board-help-sold-out"));
    out
}

/// Why the buyer picked cannot move, and with the lock, what that protects.
pub(crate) fn cannot_move(floor: &Floor, b: u32, stuck: Stuck) -> String {
    let mut line = match stuck {
        Stuck::Done => tr!("stuck-done", who = buyer(b)),
        Stuck::Waiting { holder } => tr!("stuck-waiting", who = buyer(b), holder = buyer(holder)),
        Stuck::SecondWaiter { waiter, holder } => tr!(
            "stuck-second-waiter",
            who = buyer(b),
            waiter = buyer(waiter),
            holder = buyer(holder)
        ),
    };
    if matches!(stuck, Stuck::Waiting { .. }) && floor.scope() == LockScope::Whole {
        line.push_str(&tr!("stuck-lock-at-work"));
    }
    line
}

/// After a buyer asked for a lock that another holds.
pub(crate) fn wait_lesson(floor: &Floor, b: u32) -> String {
    let holder = buyer(floor.holder().unwrap_or(0));
    let who = buyer(b);
    let then = match floor.scope() {
        LockScope::Whole => tr!("lesson-wait-whole", holder = holder.as_str()),
        LockScope::None | LockScope::Write => {
            tr!(
                "lesson-wait-write",
                who = who.as_str(),
                holder = holder.as_str()
            )
        }
    };
    tr!("lesson-wait", who = who, holder = holder, then = then)
}

/// When the last event in `heard` is a write made on a count another buyer's write had already
/// changed: the oversell (or lost update) it caused, said the moment it happens.
pub(crate) fn stale_write(heard: &[Message], tickets: u64) -> Option<String> {
    let (last, before) = heard.split_last()?;
    let Event::Wrote { ticket_num: mine } = last.event else {
        return None;
    };
    let read_at = before
        .iter()
        .rposition(|m| m.buyer == last.buyer && matches!(m.event, Event::Read { .. }))?;
    let Event::Read { seen } = before[read_at].event else {
        return None;
    };
    let (other, theirs) = before[read_at..].iter().rev().find_map(|m| match m.event {
        Event::Wrote { ticket_num } if m.buyer != last.buyer => Some((m.buyer, ticket_num)),
        _ => None,
    })?;
    let sold = heard
        .iter()
        .filter(|m| matches!(m.event, Event::Wrote { .. }))
        .count() as u64;
    let (who, other) = (buyer(last.buyer), buyer(other));
    Some(if sold > tickets {
        tr!(
            "lesson-oversold",
            who = who,
            seen = seen,
            other = other,
            theirs = theirs,
            sold = sold,
            tickets = tr!("count-tickets", n = tickets)
        )
    } else {
        tr!(
            "lesson-lost-update",
            who = who,
            mine = mine,
            seen = seen,
            other = other,
            theirs = theirs
        )
    })
}

/// The closing line of an interactive race.
pub(crate) fn moral(scope: LockScope, status: Status) -> String {
    match (scope, status) {
        (LockScope::Whole, Status::Ok) => tr!("moral-locked"),
        (LockScope::None | LockScope::Write, Status::Ok) => tr!("moral-lucky"),
        (_, Status::Oversold | Status::LostUpdates) => tr!("moral-bad"),
        (_, Status::Mismatch) => tr!("moral-mismatch"),
        (_, Status::StockUnknown) => tr!("moral-stock-unknown"),
        (_, Status::ProtocolViolation | Status::ChangedOutside) => {
            tr!("moral-protocol-violation")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_on_a_count_another_buyer_changed_is_called_out() {
        let heard = [
            Message::at(1, 0, Event::Read { seen: 1 }),
            Message::at(2, 1, Event::Read { seen: 1 }),
            Message::at(1, 2, Event::Wrote { ticket_num: 0 }),
            Message::at(2, 3, Event::Wrote { ticket_num: 0 }),
        ];
        assert_eq!(stale_write(&heard[..3], 1), None);
        let lesson = stale_write(&heard, 1).unwrap();
        assert!(lesson.contains("OVERSOLD: buyer-2"), "{lesson}");
        assert!(lesson.contains("read before buyer-1 wrote 0"), "{lesson}");
        let lost = stale_write(&heard, 2).unwrap();
        assert!(lost.contains("LOST UPDATE"), "{lost}");
    }

    #[test]
    fn the_legend_follows_a_buyers_moves() {
        assert_eq!(legend(LockScope::None), "s search, r read, w write");
        assert_eq!(
            legend(LockScope::Whole),
            "s search, l lock, r read, w write, u unlock"
        );
    }
}
