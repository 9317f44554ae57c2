//! The launcher: sets the stock, spawns the buyer processes, fires the starting gun, collects
//! their events from one pipe, reaps every child, and reconciles the result.

use std::io::{BufRead, BufReader, PipeReader, PipeWriter, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};

use serde::Serialize;

use crate::buyer::BuyerPlan;
use crate::chaos::{self, Kill, Killer, Victim};
use crate::clock;
use crate::error::{Error, ErrorKind, Result};
use crate::events::{Event, Message};
use crate::interrupt;
use crate::lock::{Acquired, LockFile, lock_path_for};
use crate::orders::{Entry, EntryKind, OrderLog, log_path_for};
use crate::recovery;
use crate::report::{self, BuyerSummary, Ending, Tally};
use crate::settings::{Durability, LockScope, Restock, Settings};
use crate::store::{self, Stock};

/// Everything a finished run produced.
#[derive(Debug)]
pub struct RunResult {
    pub run: String,
    pub tally: Tally,
    pub buyers: Vec<BuyerSummary>,
    pub events: Vec<Message>,
    /// Lines on the pipe that were not valid events (a protocol violation, shown in the report).
    pub garbled: Vec<String>,
    /// Orders that a buyer committed but another process (or the launcher) had to apply to
    /// the data file, because the buyer died first.
    pub recovered: Vec<Recovery>,
    /// The deaths `--chaos` planned, and whether each happened.
    pub victims: Vec<VictimReport>,
    /// Ctrl-C or SIGTERM stopped the race; the report is partial.
    pub interrupted: bool,
    /// Time from the starting gun to the last buyer ending, in microseconds.
    pub race_us: u64,
}

/// An order finished by someone other than the buyer that committed it.
#[derive(Debug, Clone, Serialize)]
pub struct Recovery {
    pub entry: Entry,
    /// The buyer that applied it, or None for the launcher (after the race).
    pub by_buyer: Option<u32>,
}

/// A planned chaos death and what came of it.
#[derive(Debug, Clone, Serialize)]
pub struct VictimReport {
    pub buyer: u32,
    pub pid: u32,
    pub kill: Kill,
    /// False when the buyer finished before its moment came.
    pub died: bool,
}

/// A run whose files are checked and whose stock is set: everything before the first spawn.
pub struct Prepared<'a> {
    settings: &'a Settings,
    lock: LockFile,
    log: OrderLog,
    run: String,
    initial: u64,
    /// The data file's seq as the race starts: buyers count sales from it.
    first_seq: u64,
}

/// Checks the data file, opens the lock file and the order log, and sets the stock. Any
/// error here leaves the data file byte-identical.
pub fn prepare(settings: &Settings) -> Result<Prepared<'_>> {
    recovery::preflight(&settings.data)?;
    let lock = LockFile::open(&lock_path_for(&settings.data))?;
    let log_is_new = !log_path_for(&settings.data).exists();
    let log = OrderLog::open(&log_path_for(&settings.data))?;
    if log_is_new && settings.durability == Durability::Fsync {
        // fdatasync makes the log's contents durable, not its name in the directory.
        store::sync_dir(&settings.data)?;
    }
    let run = format!("{:016x}", rand::random::<u64>());
    let (initial, first_seq) = prepare_stock(settings, &lock, &log, &run)?;
    Ok(Prepared {
        settings,
        lock,
        log,
        run,
        initial,
        first_seq,
    })
}

/// Runs the race. `on_event` sees every buyer event as it arrives (live narration).
pub fn run(prepared: Prepared<'_>, on_event: &mut dyn FnMut(&Message)) -> Result<RunResult> {
    let Prepared {
        settings,
        lock,
        log,
        run,
        initial,
        first_seq,
    } = prepared;
    let epoch_ns = clock::monotonic_ns();
    let victims = choose_victims(settings);
    let mut field = spawn_buyers(settings, &run, epoch_ns, first_seq, &victims)?;
    let heard = race(&mut field, &victims, on_event);
    interrupt::forget_all();
    if heard.is_err() {
        // Every child is reaped, even when the report cannot be read.
        for spawned in &mut field.children {
            let _ = spawned.child.kill();
        }
    }
    let reaped = reap(field.children);
    let Heard {
        mut events,
        race_us,
        garbled,
        fired,
    } = heard?;
    // Lines arrive in the order they were written, which is not quite the order of their
    // timestamps (a buyer stamps an event, then writes it); readers want the time order.
    events.sort_by_key(|m| m.t_us);
    let interrupted = interrupt::interrupted();
    let entries = log.entries_of_run(&run)?;
    let (remaining, launcher_recovered) = settle_after_race(settings, &lock, &log, &run)?;
    let victim_reports = report_victims(&victims, &reaped, &fired);
    let buyers = report::summarize(&reaped, &events, &entries, &|index| {
        if victim_reports.iter().any(|v| v.buyer == index && v.died) {
            report::KillCause::Chaos
        } else if interrupted {
            report::KillCause::Interrupt
        } else {
            report::KillCause::Unexpected
        }
    });
    let confirmed = buyers.iter().map(|b| b.confirmed).sum();
    let logged = entries
        .iter()
        .filter(|e| e.kind == EntryKind::Order)
        .count() as u64;
    let mut recovered: Vec<Recovery> = events
        .iter()
        .filter_map(|m| match &m.event {
            Event::Recovered { seq, .. } => {
                entries.iter().find(|e| e.seq == *seq).map(|e| Recovery {
                    entry: e.clone(),
                    by_buyer: Some(m.buyer),
                })
            }
            _ => None,
        })
        .collect();
    recovered.extend(launcher_recovered.map(|entry| Recovery {
        entry,
        by_buyer: None,
    }));
    remove_stale_temp_files(&settings.data, &buyers);
    let unexplained = buyers
        .iter()
        .filter(|b| !matches!(b.ending, Ending::Killed { .. }))
        .map(|b| b.logged.saturating_sub(b.confirmed))
        .sum();
    Ok(RunResult {
        run,
        tally: Tally::reconcile(initial, confirmed, remaining, logged)
            .with_unexplained(unexplained),
        buyers,
        events,
        garbled,
        recovered,
        victims: victim_reports,
        interrupted,
        race_us,
    })
}

/// `--kill-at` victims first; `--chaos` adds its own for the buyers not named there.
fn choose_victims(settings: &Settings) -> Vec<Victim> {
    let mut victims = settings.kill_at.clone();
    if settings.chaos {
        let planned = chaos::plan(
            settings.seed,
            settings.buyers,
            settings.per_buyer,
            settings.delay,
        );
        let named: Vec<u32> = victims.iter().map(|v| v.buyer).collect();
        victims.extend(planned.into_iter().filter(|p| !named.contains(&p.buyer)));
    }
    victims
}

fn report_victims(
    victims: &[Victim],
    reaped: &[(u32, u32, ExitStatus)],
    fired: &[u32],
) -> Vec<VictimReport> {
    use std::os::unix::process::ExitStatusExt as _;
    victims
        .iter()
        .filter_map(|v| {
            let &(_, pid, status) = reaped.iter().find(|(index, _, _)| *index == v.buyer)?;
            let killed = status.signal() == Some(libc::SIGKILL);
            let died = match v.kill {
                Kill::Step { .. } => killed,
                Kill::Time { .. } => killed && fired.contains(&v.buyer),
            };
            Some(VictimReport {
                buyer: v.buyer,
                pid,
                kill: v.kill,
                died,
            })
        })
        .collect()
}

/// A buyer killed between writing its temp file and swapping it in leaves the temp file
/// behind; it was never part of the data, so it goes.
fn remove_stale_temp_files(data: &Path, buyers: &[BuyerSummary]) {
    for buyer in buyers {
        if matches!(buyer.ending, Ending::Killed { .. }) {
            let _ = std::fs::remove_file(store::temp_path_for_pid(data, buyer.pid));
        }
    }
}

/// Holds the lock for a launcher step. Waits like a buyer: says once whom it waits for, and
/// gives up after `--lock-timeout` if one was given.
fn with_lock<T>(settings: &Settings, lock: &LockFile, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let acquired = lock.acquire(
        settings.lock_timeout,
        Some(|holder: Option<u32>| {
            eprintln!(
                "grab-tickets: waiting for the lock on {}, held by {}",
                lock_path_for(&settings.data).display(),
                holder.map_or("another process".to_string(), |pid| format!("pid {pid}"))
            );
        }),
    )?;
    match acquired {
        Acquired::Held { guard, .. } => {
            let result = f();
            drop(guard);
            result
        }
        Acquired::TimedOut { holder } => Err(Error::new(
            ErrorKind::Environment,
            format!(
                "timed out after --lock-timeout {} ms waiting for the lock on {}, held by {}; \
                 another program is using this data file",
                settings.lock_timeout.map_or(0, |d| d.as_millis()),
                lock_path_for(&settings.data).display(),
                holder.map_or("another process".to_string(), |pid| format!("pid {pid}"))
            ),
        )),
    }
}

/// Sets the stock to `--tickets` (a fresh order log starts with a restock entry), or keeps it.
/// Returns the stock and its seq as the race starts.
fn prepare_stock(
    settings: &Settings,
    lock: &LockFile,
    log: &OrderLog,
    run: &str,
) -> Result<(u64, u64)> {
    with_lock(settings, lock, || {
        let stock = match settings.restock {
            // A stock we are about to replace need not agree with its old log, unless the
            // log is all that is left of it (an emptied data file).
            Restock::To(_) => match store::read(&settings.data) {
                Ok(stock) => stock,
                Err(_) => recovery::settle(&settings.data, log)?.stock,
            },
            Restock::Keep => recovery::settle(&settings.data, log)?.stock,
        };
        let target = match settings.restock {
            Restock::To(tickets) => tickets,
            Restock::Keep if stock.has_seq => return Ok((stock.ticket_num, stock.seq)),
            // A hand-written file: adopt its count and start its order log.
            Restock::Keep => stock.ticket_num,
        };
        let seq = restart_history(&settings.data, log, run, stock, target)?;
        Ok((target, seq))
    })
}

/// The buyers between spawning and reaping.
struct Field {
    children: Vec<Spawned>,
    /// One byte per buyer fires the start; dropping it unfired tells them to exit.
    gun: PipeWriter,
    /// The read end of the pipe every buyer writes its events to.
    events: PipeReader,
}

struct Spawned {
    index: u32,
    child: Child,
    /// When the launcher spawned it, on the shared clock.
    spawned_us: u64,
}

fn spawn_buyers(
    settings: &Settings,
    run: &str,
    epoch_ns: u64,
    first_seq: u64,
    victims: &[Victim],
) -> Result<Field> {
    let exe = std::env::current_exe().map_err(|e| {
        Error::new(
            ErrorKind::Environment,
            format!("failed to find own binary: {e}"),
        )
    })?;
    let pipe_error = |e: std::io::Error| {
        Error::new(
            ErrorKind::Environment,
            format!("failed to create a pipe: {e}"),
        )
    };
    let (gun_reader, gun) = std::io::pipe().map_err(pipe_error)?;
    let (events, events_writer) = std::io::pipe().map_err(pipe_error)?;
    let mut children = Vec::with_capacity(settings.buyers as usize);
    for index in 1..=settings.buyers {
        if interrupt::interrupted() {
            break; // race() sees the interrupt and ends the run without firing the gun
        }
        let plan = BuyerPlan {
            index,
            data: settings.data.clone(),
            scope: settings.scope,
            delay: settings.delay,
            seed: settings.seed,
            per_buyer: settings.per_buyer,
            durability: settings.durability,
            lock_timeout_ms: settings.lock_timeout.map(|d| d.as_millis() as u64),
            epoch_ns,
            run: run.to_string(),
            launcher_pid: std::process::id(),
            crash_at: chaos::step_for(victims, index),
            buyers: settings.buyers,
            first_seq,
        };
        let spawned = Command::new(&exe)
            .arg("buyer")
            .arg("--plan")
            .arg(serde_json::to_string(&plan).expect("a plan serializes"))
            .stdin(gun_reader.try_clone().map_err(pipe_error)?)
            .stdout(events_writer.try_clone().map_err(pipe_error)?)
            .stderr(Stdio::inherit())
            .spawn();
        match spawned {
            Ok(child) => {
                interrupt::watch(index, child.id());
                children.push(Spawned {
                    index,
                    child,
                    spawned_us: clock::micros_since(epoch_ns),
                });
            }
            Err(e) => {
                // Dropping the gun unfired sends EOF: the buyers already started exit quietly.
                drop(gun);
                interrupt::forget_all();
                reap(children);
                return Err(Error::new(
                    ErrorKind::Environment,
                    format!("failed to start buyer {index} ({}): {e}", exe.display()),
                ));
            }
        }
    }
    // Only the buyers hold the write end now, so the read end sees EOF when the last one exits.
    drop(events_writer);
    Ok(Field {
        children,
        gun,
        events,
    })
}

/// What the launcher heard during the race.
struct Heard {
    events: Vec<Message>,
    /// From the starting gun to the last buyer closing the pipe.
    race_us: u64,
    /// Lines that were not valid events.
    garbled: Vec<String>,
    /// Buyers the chaos killer sent SIGKILL.
    fired: Vec<u32>,
}

/// Fires the starting gun and reads every event until the last buyer closes the pipe.
fn race(
    field: &mut Field,
    victims: &[Victim],
    on_event: &mut dyn FnMut(&Message),
) -> Result<Heard> {
    // The spawn times come first: every one of them is earlier than any event on the pipe.
    let mut events: Vec<Message> = field
        .children
        .iter()
        .map(|s| Message {
            buyer: s.index,
            pid: s.child.id(),
            t_us: s.spawned_us,
            event: Event::Spawned,
        })
        .collect();
    events.iter().for_each(&mut *on_event);
    if interrupt::interrupted() {
        // Ctrl-C during spawning: no race. The gun is never fired; kill the buyers started.
        for spawned in &mut field.children {
            let _ = spawned.child.kill();
        }
    } else {
        let shot = vec![b'g'; field.children.len()];
        // A buyer that already died cannot take its byte; the others still can.
        let _ = field.gun.write_all(&shot);
    }
    let gun_ns = clock::monotonic_ns();
    let timed: Vec<(u32, u32, u64)> = victims
        .iter()
        .filter_map(|v| match v.kill {
            Kill::Time { after_us } => field
                .children
                .iter()
                .find(|s| s.index == v.buyer)
                .map(|s| (v.buyer, s.child.id(), after_us)),
            Kill::Step { .. } => None,
        })
        .collect();
    let killer = (!timed.is_empty()).then(|| Killer::start(timed, gun_ns));
    let mut garbled = Vec::new();
    let mut reader = BufReader::new(&field.events);
    let mut line = String::new();
    let read_result = loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break Ok(()),
            Ok(_) => match serde_json::from_str::<Message>(&line) {
                Ok(message) => {
                    on_event(&message);
                    events.push(message);
                }
                Err(_) => garbled.push(line.trim_end().to_string()),
            },
            // A signal arrived mid-read; the buyers it killed close the pipe soon.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    let race_us = clock::micros_since(gun_ns);
    // Stop the killer before anyone is reaped: see Killer::start.
    let fired = killer.map(Killer::stop).unwrap_or_default();
    read_result.map_err(|e| {
        Error::new(
            ErrorKind::BuyerFailed,
            format!("failed to read buyer reports: {e}"),
        )
    })?;
    Ok(Heard {
        events,
        race_us,
        garbled,
        fired,
    })
}

/// Waits for every child, so none is left a zombie.
fn reap(children: Vec<Spawned>) -> Vec<(u32, u32, ExitStatus)> {
    children
        .into_iter()
        .filter_map(|mut s| {
            let pid = s.child.id();
            s.child.wait().ok().map(|status| (s.index, pid, status))
        })
        .collect()
}

/// After the race: finish any order a killed buyer committed but did not apply, then read
/// back the stock. Returns the remaining tickets and the orders the launcher applied.
fn settle_after_race(
    settings: &Settings,
    lock: &LockFile,
    log: &OrderLog,
    run: &str,
) -> Result<(u64, Option<Entry>)> {
    with_lock(settings, lock, || {
        if settings.scope == LockScope::Whole {
            let settled = recovery::settle(&settings.data, log)?;
            return Ok((settled.stock.ticket_num, settled.recovered));
        }
        // Without the whole-purchase lock the log is a record of the race, with stale and
        // repeated seqs, not a journal to replay: start a fresh one at the file's state, so
        // that a later --keep-stock run can trust it. (The report has read it already.)
        let stock = store::read(&settings.data)?;
        let tickets = stock.ticket_num;
        restart_history(&settings.data, log, run, stock, tickets)?;
        Ok((tickets, None))
    })
}

/// Starts a new order log whose first entry sets the stock to `tickets`, then writes the data
/// file to match (log first: a crash in between is rolled forward). Returns the new seq.
/// Call only while holding the lock.
fn restart_history(
    data: &Path,
    log: &OrderLog,
    run: &str,
    stock: Stock,
    tickets: u64,
) -> Result<u64> {
    let entry = Entry {
        seq: stock.seq + 1,
        kind: EntryKind::Restock,
        run: run.to_string(),
        buyer: 0,
        pid: std::process::id(),
        before: stock.ticket_num,
        after: tickets,
    };
    log.restart(&entry)?;
    let fresh = Stock {
        ticket_num: tickets,
        seq: entry.seq,
        has_seq: true,
        ..stock
    };
    store::write(data, &fresh)?;
    Ok(entry.seq)
}
