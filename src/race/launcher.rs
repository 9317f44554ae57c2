//! The launcher's part of the race: spawns the buyer processes, fires the starting gun,
//! hears their events on one pipe, and reaps every child. Nothing else: the stock is set
//! before (`shop::books`) and the result is reconciled after (`report`).

use crate::safe_text::OneLine;
use std::io::{PipeReader, PipeWriter, Write};
use std::path::Path;
use std::process::{Child, Command};

use super::Reaped;
use super::buyer::BuyerPlan;
use super::chaos::{self, Victim};
use super::clock;
use super::interrupt;
use super::pipe::{Heard, Listener, Next, QUIET, Tick};
use super::relay::Relay;
use super::secret;
use super::stepper::{self, Chooser, Conducted, Stage};
use crate::events::{Event, Message};
use crate::exit::{Error, Result};
use crate::lang::tr;
use crate::settings::{BuyerSettings, LockScope, Settings, StoreAt};
use crate::shop::Started;

/// What the launcher tells every buyer of one race, besides the settings.
pub(crate) struct Briefing<'a> {
    pub settings: &'a Settings,
    /// The run's id, written into every order it logs.
    pub run: &'a str,
    /// The database password, written to each buyer's own stdin (`race::secret`), never its
    /// command line or environment.
    pub password: Option<String>,
    pub victims: &'a [Victim],
    /// A stepped race: each buyer gets its own go pipe and pauses before every move.
    pub stepped: bool,
}

/// How the buyers move once the gun is fired.
pub(crate) enum Pacing<'a> {
    /// They race freely: a normal run.
    Free,
    /// Each buyer pauses before every move; `chooser` decides who moves next (`explore`,
    /// `--schedule`). Needs buyers spawned with `Briefing::stepped`.
    Stepped(&'a mut dyn Chooser),
}

/// Everything the race produced, before reconciliation.
pub(crate) struct RaceRecord {
    pub reaped: Vec<Reaped>,
    /// Every event, in time order.
    pub events: Vec<Message>,
    /// Lines on the pipe that were not valid events.
    pub garbled: Vec<String>,
    /// When the starting gun fired, in microseconds on the events' clock: time zero for
    /// every view.
    pub gun_us: u64,
    /// From the starting gun to the last buyer closing the pipe, in microseconds.
    pub race_us: u64,
    /// How a stepped race went: the schedule it took.
    pub conducted: Option<Conducted>,
}

/// Spawns every buyer; they open their files and wait for the starting gun. Spawning comes
/// before anything changes, so a machine that cannot start them all (`ulimit -u`, `-n`)
/// fails here with the stock untouched.
pub(crate) fn spawn(start: &Briefing) -> Result<Field> {
    spawn_buyers(start, clock::monotonic_ns())
}

impl Field {
    /// Runs the race: fires the gun, hears every event (`on_tick` hears each as it arrives,
    /// for live narration, and the quiet moments between them), reaps every buyer.
    pub(crate) fn fire(
        mut self,
        pacing: Pacing,
        on_tick: &mut dyn FnMut(Tick),
    ) -> Result<RaceRecord> {
        let heard = hear_race(&mut self, pacing, on_tick);
        interrupt::forget_buyers();
        if heard.is_err() {
            // Every child is reaped, even when the report cannot be read.
            for spawned in &mut self.children {
                let _ = spawned.child.kill();
            }
        }
        let reaped = reap(self.children);
        self.relay.finish();
        let (mut heard, (gun_us, race_us), conducted) = heard?;
        // Lines arrive in the order they were written, which is not quite the order of their
        // timestamps (a buyer stamps an event, then writes it); readers want the time order.
        heard.messages.sort_by_key(|m| m.t_us);
        Ok(RaceRecord {
            reaped,
            events: heard.messages,
            garbled: heard.garbled,
            gun_us,
            race_us,
            conducted,
        })
    }

    /// Each spawned buyer's number and pid, and how to tell that the user asked to stop: what
    /// a store waits on before the stock changes.
    pub(crate) fn started(&self) -> Started<'static> {
        Started {
            buyers: self
                .children
                .iter()
                .map(|s| (s.index, s.child.id()))
                .collect(),
            interrupted: &interrupt::interrupted,
        }
    }

    /// Calls the race off before the gun: the buyers see the gun pipe close and exit quietly.
    /// Returns what any of them failed with first (each buyer's number and error): a buyer
    /// that could not open its store is why a race is called off, and only it can say why.
    pub(crate) fn call_off(self) -> Vec<(u32, String)> {
        interrupt::forget_buyers();
        drop(self.gun);
        reap(self.children);
        self.relay.finish();
        let mut failures = Vec::new();
        let mut listener = Listener::new(&self.events);
        // Every buyer is reaped, so the pipe holds all it will; stop at its end or silence.
        loop {
            match listener.next(Some(QUIET)) {
                Ok(Next::Message(message)) => {
                    if let Event::Failed { message: error, .. } = message.event {
                        failures.push((message.buyer, error));
                    }
                }
                Ok(Next::Garbled(_)) => {}
                Ok(Next::Quiet | Next::Closed) | Err(_) => break,
            }
        }
        failures
    }
}

/// The buyers between spawning and reaping.
pub(crate) struct Field {
    children: Vec<Spawned>,
    /// One byte per buyer fires the start; dropping it unfired tells them to exit.
    gun: Gun,
    /// The read end of the pipe every buyer writes its events to.
    events: PipeReader,
    /// What the lock covers: a stepped race's scheduler tracks the lock by it.
    scope: LockScope,
    /// The buyers pause before every move (their own go pipes carry the moves).
    stepped: bool,
    /// The run's clock starts here (a value of `clock::monotonic_ns`).
    epoch_ns: u64,
    /// The buyers' stderr, passed on escaped.
    relay: Relay,
}

struct Spawned {
    index: u32,
    child: Child,
    /// When the launcher spawned it, on the shared clock.
    spawned_us: u64,
}

/// The buyers' stdin: one pipe shared by all, or one pipe each: stepped, every byte after
/// the starting gun lets the buyer make one move; on a database, the password's line comes
/// before the gun, and a shared pipe would let one buyer read another's line.
enum Gun {
    Shared(PipeWriter),
    Own(Vec<PipeWriter>),
}

/// What buyer `index` is told to do: the run's buyer settings, its own number and fate.
fn plan_for(start: &Briefing, for_buyers: &BuyerSettings, index: u32, epoch_ns: u64) -> BuyerPlan {
    BuyerPlan {
        index,
        settings: for_buyers.clone(),
        epoch_ns,
        run: start.run.to_string(),
        launcher_pid: std::process::id(),
        crash_at: chaos::step_for(start.victims, index),
        stepped: start.stepped,
        // A buyer's failure reaches the report in the run's language, as the launcher's
        // own errors do (scripts decide on the failure's kind, never on its words).
        lang: crate::lang::current(),
    }
}

fn spawn_buyers(start: &Briefing, epoch_ns: u64) -> Result<Field> {
    let settings = start.settings;
    let exe = std::env::current_exe()
        .map_err(|e| Error::environment(tr!("error-no-own-binary", error = e.to_string())))?;
    let pipe_error =
        |e: std::io::Error| Error::environment(tr!("error-no-pipe", error = e.to_string()));
    let (gun_reader, shared_gun) = std::io::pipe().map_err(pipe_error)?;
    let mut own_guns = Vec::new();
    let (events, events_writer) = std::io::pipe().map_err(pipe_error)?;
    let mut relay = Relay::start().map_err(pipe_error)?;
    let mut children = Vec::with_capacity(settings.buyers() as usize);
    let for_buyers = settings.for_buyers();
    let own_stdin = start.stepped || matches!(settings.store(), StoreAt::Postgres { .. });
    for index in 1..=settings.buyers() {
        if interrupt::interrupted() {
            break; // hear_race() sees the interrupt and ends the run without firing the gun
        }
        let plan = plan_for(start, &for_buyers, index, epoch_ns);
        let stdin = if own_stdin {
            let (reader, writer) = std::io::pipe().map_err(pipe_error)?;
            own_guns.push(writer);
            reader
        } else {
            gun_reader.try_clone().map_err(pipe_error)?
        };
        // All buyers in one group (a process group, a job object), so an interrupt kills
        // them all at once.
        let group = children.first().map(|s: &Spawned| s.child.id());
        let events = events_writer.try_clone().map_err(pipe_error)?;
        let pipes = (stdin, events, relay.for_buyer().map_err(pipe_error)?);
        let spawned = spawn_one(&exe, &plan, pipes, group)
            .map(|child| interrupt::watch_buyer(child, children.is_empty()));
        match spawned {
            Ok(child) => {
                if let (Some(pipe), false) = (own_guns.last_mut(), start.stepped) {
                    // The pipe's buffer holds the line until the buyer reads it. A buyer
                    // that died already cannot take it, and is reaped and reported as dead.
                    let _ = secret::send(pipe, start.password.as_deref());
                }
                children.push(Spawned {
                    index,
                    child,
                    spawned_us: clock::micros_since(epoch_ns),
                });
            }
            Err(e) => {
                // Dropping the gun unfired sends EOF: the buyers already started exit quietly.
                drop((shared_gun, own_guns));
                interrupt::forget_buyers();
                reap(children);
                relay.finish();
                return Err(Error::environment(tr!(
                    "error-buyer-spawn",
                    n = index.to_string(),
                    exe = exe.one_line(),
                    error = e.to_string()
                )));
            }
        }
    }
    // Only the buyers hold the write ends now, so the read ends see EOF when the last one exits.
    drop(events_writer);
    relay.close();
    Ok(Field {
        children,
        gun: if own_stdin {
            Gun::Own(own_guns)
        } else {
            Gun::Shared(shared_gun)
        },
        events,
        scope: settings.scope(),
        stepped: start.stepped,
        epoch_ns,
        relay,
    })
}

/// Starts one buyer process: `grab-tickets buyer --plan JSON`, its stdin the gun, its stdout
/// the event pipe, in the buyers' group (`first`: the first buyer's pid; `None` for the first).
/// A PGPASSWORD of the launcher's own is not passed on: the buyer's password comes on its
/// stdin, and an environment is inherited by whatever the buyer starts.
fn spawn_one(
    exe: &Path,
    plan: &BuyerPlan,
    (gun, events, stderr): (PipeReader, PipeWriter, PipeWriter),
    first: Option<u32>,
) -> std::io::Result<Child> {
    let mut command = Command::new(exe);
    command.env_remove("PGPASSWORD");
    // Said as the launcher's failure (only a Windows job object can fail here): no buyer has
    // started yet, and none is to blame.
    crate::sys::join_buyers(&mut command, first)
        .map_err(|e| std::io::Error::other(tr!("error-launcher-job", error = e.to_string())))?;
    command
        .arg("buyer")
        .arg("--plan")
        .arg(serde_json::to_string(plan).expect("a plan serializes"))
        .stdin(gun)
        .stdout(events)
        .stderr(stderr)
        .spawn()
}

/// Fires the starting gun and reads every event until the last buyer closes the pipe; a
/// stepped race is conducted move by move first. Returns what was heard, the race's duration
/// and, stepped, the schedule it took.
fn hear_race(
    field: &mut Field,
    pacing: Pacing,
    on_tick: &mut dyn FnMut(Tick),
) -> Result<(Heard, (u64, u64), Option<Conducted>)> {
    // The spawn times come first: every one of them is earlier than any event on the pipe.
    let spawned: Vec<Message> = field
        .children
        .iter()
        .map(|s| Message {
            buyer: s.index,
            pid: s.child.id(),
            t_us: s.spawned_us,
            event: Event::Spawned,
        })
        .collect();
    for message in &spawned {
        on_tick(Tick::Event(message));
    }
    let mut heard = Heard {
        messages: spawned,
        ..Heard::default()
    };
    let read_error =
        |e: std::io::Error| Error::buyer(tr!("error-buyer-reports", error = e.to_string()));
    let mut listener = Listener::new(&field.events);
    let early = wait_at_the_line(&field.children, &mut listener, &mut heard).map_err(read_error)?;
    // Time zero, taken before the gun fires: no buyer can stamp an event before it.
    let gun_us = clock::micros_since(field.epoch_ns);
    on_tick(Tick::Gun { t_us: gun_us });
    fire_gun(&mut field.children, &mut field.gun);
    for message in early {
        on_tick(Tick::Event(&message));
        heard.messages.push(message);
    }
    let mut conducted = None;
    let scope = field.scope;
    match (pacing, &mut field.gun) {
        (Pacing::Stepped(chooser), Gun::Own(go)) if !interrupt::interrupted() => {
            let pids: Vec<u32> = field.children.iter().map(|s| s.child.id()).collect();
            let exited = |buyer: u32| has_exited(pids[buyer as usize - 1]);
            let mut on_event = |message: &Message| on_tick(Tick::Event(message));
            let mut stage = Stage {
                go,
                listener: &mut listener,
                heard: &mut heard,
                on_event: &mut on_event,
                exited: &exited,
            };
            let result = stepper::conduct(&mut stage, scope, chooser);
            // Closing the go pipes lets any buyer still paused exit (a stopped race, an error).
            go.clear();
            conducted = Some(result?);
        }
        (Pacing::Free, Gun::Own(go)) if field.stepped => {
            go.clear();
            return Err(Error::buyer(tr!("error-no-chooser")));
        }
        _ => {}
    }
    let read_result = listener.read_rest(&mut heard, on_tick);
    let race_us = clock::micros_since(field.epoch_ns).saturating_sub(gun_us);
    read_result.map_err(read_error)?;
    Ok((heard, (gun_us, race_us), conducted))
}

/// Waits until every buyer has said it is at the line (its store open, the gun next) or has
/// ended. Windows returns from CreateProcess before the new process has even loaded (Linux
/// returns after exec): a gun fired at once would start the last buyers late, and the lesson's
/// race (everyone reads before anyone writes) would not be run. What else a buyer said
/// meanwhile (a failure to open its store) is returned, to be heard after the gun.
fn wait_at_the_line(
    children: &[Spawned],
    listener: &mut Listener,
    heard: &mut Heard,
) -> std::io::Result<Vec<Message>> {
    let mut starting: Vec<&Spawned> = children.iter().collect();
    let mut early = Vec::new();
    while !starting.is_empty() && !interrupt::interrupted() {
        match listener.next(Some(QUIET))? {
            Next::Message(message) => {
                // Whatever a buyer says, it is past its start.
                starting.retain(|s| s.index != message.buyer);
                if message.event != Event::Ready {
                    early.push(message);
                }
            }
            Next::Garbled(line) => heard.garbled.push(line),
            Next::Quiet => starting.retain(|s| !has_exited(s.child.id())),
            Next::Closed => break,
        }
    }
    Ok(early)
}

/// Fires the starting gun: one byte for each buyer. After Ctrl-C during the start there is
/// no race: the gun is never fired, and the buyers started are killed.
fn fire_gun(children: &mut [Spawned], gun: &mut Gun) {
    if interrupt::interrupted() {
        for spawned in children {
            let _ = spawned.child.kill();
        }
        return;
    }
    // A buyer that already died cannot take its byte; the others still can.
    match gun {
        Gun::Shared(gun) => {
            let _ = gun.write_all(&vec![b'g'; children.len()]);
        }
        Gun::Own(guns) => {
            for gun in guns {
                let _ = gun.write_all(b"g");
            }
        }
    }
}

/// Whether the child `pid` has exited, without reaping it: the interrupt handler relies on
/// the first buyer staying unreaped until `reap` (see `interrupt::forget_buyers`).
fn has_exited(pid: u32) -> bool {
    crate::sys::has_exited(pid)
}

/// Waits for every child, so none is left a zombie.
fn reap(children: Vec<Spawned>) -> Vec<Reaped> {
    children
        .into_iter()
        .filter_map(|mut s| {
            let pid = s.child.id();
            let status = s.child.wait().ok()?;
            Some(Reaped {
                buyer: s.index,
                pid,
                status,
            })
        })
        .collect()
}
