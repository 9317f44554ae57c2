//! The launcher as the scheduler. In a stepped race (`explore`, `--schedule`) every buyer
//! pauses before each move and makes it only when told to; this file keeps track of where
//! each buyer is and who holds the lock, lets a [`Chooser`] pick who moves next, and waits for
//! exactly the reports that move must bring, never for one that cannot come.

use std::io::{PipeWriter, Write};
use std::time::{Duration, Instant};

use super::interrupt;
use super::pipe::{Heard, Listener, Next};
use crate::events::{Event, Message};
use crate::exit::{Error, Result};
use crate::lang::tr;
use crate::settings::{LockScope, Move, Schedule, Turn};

/// How long the launcher listens before it looks up to check that the buyers it waits for are
/// still alive.
const PATIENCE: Duration = Duration::from_millis(100);
/// After this long without the report it waits for, the launcher says so once.
const SAY_STUCK_AFTER: Duration = Duration::from_secs(10);

/// Where one buyer of a stepped race is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Position {
    /// Paused before this move, until the launcher lets it go on.
    Before(Move),
    /// Blocked in flock: it goes on when the holder unlocks.
    Waiting,
    /// Making a move; the launcher waits for its next report.
    Moving,
    /// Finished (or failed): no more moves.
    Done,
}

/// Why a buyer cannot move now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stuck {
    Done,
    /// Blocked in flock until `holder` unlocks.
    Waiting {
        holder: u32,
    },
    /// Paused before its lock request while `waiter` already waits for `holder`'s lock. flock
    /// does not queue its waiters: with two of them the kernel would pick who gets the lock
    /// next, and no schedule could replay that choice. So one buyer waits at a time.
    SecondWaiter {
        waiter: u32,
        holder: u32,
    },
}

impl Stuck {
    /// Why `buyer` cannot move, in a sentence.
    pub(crate) fn explain(self, buyer: u32) -> String {
        let who = |n: u32| tr!("buyer", n = n);
        // The board's sentences (show/explore/board.rs), inside another sentence here.
        let sentence = match self {
            Stuck::Done => tr!("stuck-done", who = who(buyer)),
            Stuck::Waiting { holder } => {
                tr!("stuck-waiting", who = who(buyer), holder = who(holder))
            }
            Stuck::SecondWaiter { waiter, holder } => tr!(
                "stuck-second-waiter",
                who = who(buyer),
                waiter = who(waiter),
                holder = who(holder)
            ),
        };
        sentence.trim_end_matches(['.', '。']).to_string()
    }
}

/// Every buyer's position and the lock's state, as the launcher knows them between moves.
#[derive(Debug, Clone)]
pub(crate) struct Floor {
    scope: LockScope,
    positions: Vec<Position>,
    holder: Option<u32>,
    waiter: Option<u32>,
    taken: Vec<Turn>,
}

impl Floor {
    fn new(scope: LockScope, buyers: u32) -> Floor {
        Floor {
            scope,
            positions: vec![Position::Moving; buyers as usize],
            holder: None,
            waiter: None,
            taken: Vec::new(),
        }
    }

    pub(crate) fn scope(&self) -> LockScope {
        self.scope
    }

    pub(crate) fn buyers(&self) -> u32 {
        self.positions.len() as u32
    }

    pub(crate) fn position(&self, buyer: u32) -> Position {
        self.positions[buyer as usize - 1]
    }

    /// The buyer holding the lock, as the moves so far imply.
    pub(crate) fn holder(&self) -> Option<u32> {
        self.holder
    }

    /// The buyer blocked in flock, if any.
    pub(crate) fn waiter(&self) -> Option<u32> {
        self.waiter
    }

    /// The turns taken so far.
    pub(crate) fn taken(&self) -> &[Turn] {
        &self.taken
    }

    pub(crate) fn all_done(&self) -> bool {
        self.positions.iter().all(|p| *p == Position::Done)
    }

    /// The move `buyer` would make if let go now, or why it cannot move.
    pub(crate) fn next_move(&self, buyer: u32) -> std::result::Result<Move, Stuck> {
        match self.position(buyer) {
            Position::Before(Move::Lock) => match (self.waiter, self.holder) {
                (Some(waiter), Some(holder)) => Err(Stuck::SecondWaiter { waiter, holder }),
                _ => Ok(Move::Lock),
            },
            Position::Before(mv) => Ok(mv),
            Position::Waiting => Err(Stuck::Waiting {
                holder: self.holder.unwrap_or(0),
            }),
            Position::Moving | Position::Done => Err(Stuck::Done),
        }
    }

    /// Every buyer that can move now, in buyer order, with the move it would make.
    pub(crate) fn movable(&self) -> Vec<Turn> {
        (1..=self.buyers())
            .filter_map(|buyer| {
                Some(Turn {
                    buyer,
                    mv: self.next_move(buyer).ok()?,
                })
            })
            .collect()
    }
}

/// Decides who moves next in a stepped race.
pub(crate) trait Chooser {
    /// The buyer that makes the next move, one of `floor.movable()`; None stops the race here
    /// (the paused buyers then exit without finishing). `heard` is every event so far.
    fn choose(&mut self, floor: &Floor, heard: &[Message]) -> Option<u32>;
}

/// How a stepped race went.
#[derive(Debug, Clone)]
pub(crate) struct Conducted {
    /// Every turn taken, in order: replaying it gives the same race.
    pub schedule: Schedule,
    /// The chooser stopped the race (or an interrupt did) before every buyer finished.
    pub stopped: bool,
}

/// What the launcher hands the conductor: one go pipe per buyer and the event pipe.
pub(crate) struct Stage<'a, 'b> {
    /// Buyer N's stdin is `go[N - 1]`: one byte lets it make one move.
    pub go: &'a mut [PipeWriter],
    pub listener: &'a mut Listener<'b>,
    pub heard: &'a mut Heard,
    pub on_event: &'a mut dyn FnMut(&Message),
    /// Whether buyer N's process has exited (without reaping it).
    pub exited: &'a dyn Fn(u32) -> bool,
}

/// What the launcher waits to hear from a buyer it let go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Awaited {
    /// Its next pause, or its end.
    NextReport,
    /// That it is blocked in flock (the lock's real code says so before it blocks).
    LockWait,
}

/// Runs a stepped race once every buyer has heard its starting gun: waits for each to pause
/// before its search, then lets `chooser` pick one move at a time until all are done.
pub(crate) fn conduct(
    stage: &mut Stage,
    scope: LockScope,
    chooser: &mut dyn Chooser,
) -> Result<Conducted> {
    let mut floor = Floor::new(scope, stage.go.len() as u32);
    let mut awaited: Vec<(u32, Awaited)> = (1..=floor.buyers())
        .map(|buyer| (buyer, Awaited::NextReport))
        .collect();
    let mut stopped = false;
    loop {
        if !await_reports(stage, &mut floor, &mut awaited)? {
            stopped = true;
            break;
        }
        if floor.all_done() {
            break;
        }
        if floor.movable().is_empty() {
            return Err(Error::buyer(tr!(
                "error-stepped-stuck",
                holder = format!("{:?}", floor.holder),
                waiter = format!("{:?}", floor.waiter)
            )));
        }
        let Some(buyer) = chooser.choose(&floor, &stage.heard.messages) else {
            stopped = true;
            break;
        };
        let mv = floor
            .next_move(buyer)
            .map_err(|stuck| Error::usage(stuck.explain(buyer)))?;
        floor.taken.push(Turn { buyer, mv });
        let mover = &mut floor.positions[buyer as usize - 1];
        *mover = Position::Moving;
        match mv {
            Move::Lock if floor.holder.is_some() => {
                floor.waiter = Some(buyer);
                awaited.push((buyer, Awaited::LockWait));
            }
            Move::Lock => {
                floor.holder = Some(buyer);
                awaited.push((buyer, Awaited::NextReport));
            }
            Move::Unlock => {
                // The kernel hands the lock to the one waiter as this buyer unlocks.
                floor.holder = floor.waiter.take();
                if let Some(waiter) = floor.holder {
                    floor.positions[waiter as usize - 1] = Position::Moving;
                    awaited.push((waiter, Awaited::NextReport));
                }
                awaited.push((buyer, Awaited::NextReport));
            }
            _ => awaited.push((buyer, Awaited::NextReport)),
        }
        let mut pipe = &stage.go[buyer as usize - 1];
        if let Err(e) = pipe.write_all(b"g") {
            return Err(Error::buyer(tr!(
                "error-step-send",
                who = tr!("buyer", n = buyer),
                mv = mv.letter().to_string(),
                error = e.to_string()
            )));
        }
    }
    Ok(Conducted {
        schedule: Schedule(floor.taken),
        stopped,
    })
}

/// Reads events until every awaited report has come, updating `floor`. False when an
/// interrupt stopped the race meanwhile.
fn await_reports(
    stage: &mut Stage,
    floor: &mut Floor,
    awaited: &mut Vec<(u32, Awaited)>,
) -> Result<bool> {
    let since = Instant::now();
    let mut said_stuck = false;
    let mut looked_again = false;
    while let Some(&(first, _)) = awaited.first() {
        if interrupt::interrupted() {
            return Ok(false);
        }
        let next = stage
            .listener
            .next(Some(PATIENCE))
            .map_err(|e| Error::buyer(tr!("error-buyer-reports", error = e.to_string())))?;
        match next {
            Next::Message(message) => {
                hear(floor, awaited, &message)?;
                (stage.on_event)(&message);
                stage.heard.messages.push(message);
            }
            Next::Garbled(line) => stage.heard.garbled.push(line),
            Next::Closed => {
                if interrupt::interrupted() {
                    return Ok(false);
                }
                return Err(gone(first));
            }
            Next::Quiet => {
                // A buyer that exited wrote its last words before it went, so one more look
                // at the pipe finds them if there are any.
                if let Some(&(dead, _)) = awaited.iter().find(|(b, _)| (stage.exited)(*b)) {
                    if looked_again {
                        return Err(gone(dead));
                    }
                    looked_again = true;
                }
                if !said_stuck && since.elapsed() > SAY_STUCK_AFTER {
                    said_stuck = true;
                    let line = tr!(
                        "launcher-step-stuck",
                        who = tr!("buyer", n = first),
                        s = SAY_STUCK_AFTER.as_secs()
                    );
                    eprintln!("{line}");
                }
            }
        }
    }
    Ok(true)
}

/// Updates the floor with one event, crossing off the report it brings.
fn hear(floor: &mut Floor, awaited: &mut Vec<(u32, Awaited)>, message: &Message) -> Result<()> {
    let buyer = message.buyer;
    if buyer == 0 || buyer > floor.buyers() {
        return Ok(()); // Not a buyer of this race: the report shows the garbled line.
    }
    let expected = awaited.iter().position(|(b, _)| *b == buyer);
    let position = &mut floor.positions[buyer as usize - 1];
    match (&message.event, expected.map(|i| awaited[i].1)) {
        (Event::Paused { before }, Some(Awaited::NextReport)) => {
            *position = Position::Before(*before);
        }
        (Event::LockWait { .. }, Some(Awaited::LockWait)) => *position = Position::Waiting,
        (Event::Finished { .. } | Event::Failed { .. }, _) => {
            *position = Position::Done;
            if floor.waiter == Some(buyer) {
                floor.waiter = None;
            }
            if floor.holder == Some(buyer) {
                // It died holding the lock: the kernel released it, to the waiter if any.
                floor.holder = floor.waiter.take();
            }
        }
        (Event::Paused { before }, _) => {
            return Err(Error::buyer(tr!(
                "error-step-protocol",
                who = tr!("buyer", n = buyer),
                mv = before.letter().to_string()
            )));
        }
        _ => return Ok(()),
    }
    if let Some(i) = expected {
        awaited.remove(i);
    }
    Ok(())
}

fn gone(buyer: u32) -> Error {
    Error::buyer(tr!("error-step-gone", who = tr!("buyer", n = buyer)))
}

/// Follows a schedule turn by turn, then finishes the race in buyer order. The first turn that
/// does not fit (its buyer is somewhere else, or cannot move) is remembered, and from there the
/// race is finished in buyer order too, so the data file ends consistent either way.
pub(crate) struct Script {
    turns: Vec<Turn>,
    next: usize,
    /// The first turn that did not fit.
    pub misfit: Option<Misfit>,
}

/// A turn of a schedule that the race could not take.
#[derive(Debug, Clone)]
pub(crate) struct Misfit {
    /// 1-based position in the schedule.
    pub step: usize,
    pub turn: Turn,
    pub why: String,
}

impl Script {
    pub(crate) fn new(schedule: &Schedule) -> Script {
        Script {
            turns: schedule.0.clone(),
            next: 0,
            misfit: None,
        }
    }

    /// After the race: a turn left over once every buyer had finished does not fit either.
    pub(crate) fn end(&mut self) {
        if self.misfit.is_none()
            && let Some(&turn) = self.turns.get(self.next)
        {
            self.misfit = Some(Misfit {
                step: self.next + 1,
                turn,
                why: tr!("misfit-finished", who = tr!("buyer", n = turn.buyer)),
            });
        }
    }

    /// How many turns of the schedule were taken as written.
    pub(crate) fn followed(&self) -> usize {
        match &self.misfit {
            Some(misfit) => misfit.step - 1,
            None => self.next,
        }
    }
}

impl Chooser for Script {
    fn choose(&mut self, floor: &Floor, _heard: &[Message]) -> Option<u32> {
        if self.misfit.is_none()
            && let Some(&turn) = self.turns.get(self.next)
        {
            self.next += 1;
            let why = match floor.next_move(turn.buyer.min(floor.buyers())) {
                _ if turn.buyer > floor.buyers() => tr!(
                    "misfit-no-buyer",
                    who = tr!("buyer", n = turn.buyer),
                    buyers = floor.buyers().to_string()
                ),
                Ok(mv) if mv == turn.mv => return Some(turn.buyer),
                Ok(mv) => tr!(
                    "misfit-other-move",
                    who = tr!("buyer", n = turn.buyer),
                    turn = format!("{}{}", turn.buyer, mv.letter()),
                    what = tr!("move-describe", mv = mv.letter().to_string()),
                    wanted = turn.mv.letter().to_string()
                ),
                Err(stuck) => stuck.explain(turn.buyer),
            };
            self.misfit = Some(Misfit {
                step: self.next,
                turn,
                why,
            });
        }
        floor.movable().first().map(|t| t.buyer)
    }
}
