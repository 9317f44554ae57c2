//! The launcher: sets the stock, spawns the buyer processes, fires the starting gun, collects
//! their events from one pipe, reaps every child, and reconciles the result.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, PipeReader, PipeWriter, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};

use crate::buyer::BuyerPlan;
use crate::clock;
use crate::error::{Error, ErrorKind, Result};
use crate::events::{Event, Message, Outcome};
use crate::lock::{Acquired, LockFile, lock_path_for};
use crate::orders::{Entry, EntryKind, OrderLog, log_path_for};
use crate::recovery;
use crate::report::{BuyerSummary, Ending, Tally};
use crate::settings::{Durability, LockScope, Restock, Settings};
use crate::store::{self, Flush, Stock};

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
    pub recovered: Vec<Entry>,
    /// Time from the starting gun to the last buyer ending, in microseconds.
    pub race_us: u64,
}

/// Runs one race. `on_event` sees every buyer event as it arrives (live narration).
pub fn run(settings: &Settings, on_event: &mut dyn FnMut(&Message)) -> Result<RunResult> {
    // Validate before touching anything: a bad data file must stay byte-identical.
    store::read(&settings.data)?;
    let lock = LockFile::open(&lock_path_for(&settings.data))?;
    let log = OrderLog::open(&log_path_for(&settings.data))?;
    let run = format!("{:016x}", rand::random::<u64>());
    let epoch_ns = clock::monotonic_ns();

    let initial = prepare_stock(settings, &lock, &log, &run)?;
    let mut field = spawn_buyers(settings, &run, epoch_ns)?;
    let (events, race_us, garbled) = race(&mut field, epoch_ns, on_event)?;
    let chaos_killed = HashMap::new();
    let reaped = reap(field.children, &chaos_killed);
    let (remaining, launcher_recovered) = settle_after_race(settings, &lock, &log)?;
    let entries = log.entries_of_run(&run)?;
    let buyers = summarize(&reaped, &events, &entries, &chaos_killed);
    let confirmed = buyers.iter().map(|b| b.confirmed).sum();
    let logged = entries
        .iter()
        .filter(|e| e.kind == EntryKind::Order)
        .count() as u64;
    let mut recovered: Vec<Entry> = events
        .iter()
        .filter_map(|m| match &m.event {
            Event::Recovered { seq, .. } => entries.iter().find(|e| e.seq == *seq).cloned(),
            _ => None,
        })
        .collect();
    recovered.extend(launcher_recovered);
    remove_stale_temp_files(&settings.data, &buyers);
    Ok(RunResult {
        run,
        tally: Tally::reconcile(initial, confirmed, remaining, logged),
        buyers,
        events,
        garbled,
        recovered,
        race_us,
    })
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

/// Holds the lock for a launcher step (never contended for long, so no timeout).
fn with_lock<T>(lock: &LockFile, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match lock.acquire(None, |_| {})? {
        Acquired::Held { guard, .. } => {
            let result = f();
            drop(guard);
            result
        }
        Acquired::TimedOut { .. } => unreachable!("no timeout was given"),
    }
}

/// Sets the stock to `--tickets` (a fresh order log starts with a restock entry), or keeps it.
fn prepare_stock(settings: &Settings, lock: &LockFile, log: &OrderLog, run: &str) -> Result<u64> {
    with_lock(lock, || {
        let stock = match settings.restock {
            // A stock we are about to replace need not agree with its old log.
            Restock::To(_) => store::read(&settings.data)?,
            Restock::Keep => recovery::settle(&settings.data, log)?.stock,
        };
        let target = match settings.restock {
            Restock::To(tickets) => tickets,
            Restock::Keep if stock.has_seq => return Ok(stock.ticket_num),
            // A hand-written file: adopt its count and start its order log.
            Restock::Keep => stock.ticket_num,
        };
        let entry = Entry {
            seq: stock.seq + 1,
            kind: EntryKind::Restock,
            run: run.to_string(),
            buyer: 0,
            pid: std::process::id(),
            before: stock.ticket_num,
            after: target,
        };
        log.restart(&entry, settings.durability)?;
        let flush = match settings.durability {
            Durability::Fsync => Flush::Durable,
            Durability::NoFsync => Flush::Lazy,
        };
        let fresh = Stock {
            ticket_num: target,
            seq: entry.seq,
            has_seq: true,
            ..stock
        };
        store::write(&settings.data, &fresh, flush)?;
        Ok(target)
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

fn spawn_buyers(settings: &Settings, run: &str, epoch_ns: u64) -> Result<Field> {
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
            crash_at: None,
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
            Ok(child) => children.push(Spawned {
                index,
                child,
                spawned_us: clock::micros_since(epoch_ns),
            }),
            Err(e) => {
                // Dropping the gun unfired sends EOF: the buyers already started exit quietly.
                drop(gun);
                reap(children, &HashMap::new());
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

/// Fires the starting gun and reads every event until the last buyer closes the pipe.
/// Returns the events and the race time (gun to last event) in microseconds.
fn race(
    field: &mut Field,
    epoch_ns: u64,
    on_event: &mut dyn FnMut(&Message),
) -> Result<(Vec<Message>, u64, Vec<String>)> {
    let shot = vec![b'g'; field.children.len()];
    // A buyer that already died cannot take its byte; the others still can.
    let _ = field.gun.write_all(&shot);
    let gun_us = clock::micros_since(epoch_ns);
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
    let mut garbled = Vec::new();
    let mut reader = BufReader::new(&field.events);
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => match serde_json::from_str::<Message>(&line) {
                Ok(message) => {
                    on_event(&message);
                    events.push(message);
                }
                Err(_) => garbled.push(line.trim_end().to_string()),
            },
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::BuyerFailed,
                    format!("failed to read buyer reports: {e}"),
                ));
            }
        }
    }
    let race_us = clock::micros_since(epoch_ns).saturating_sub(gun_us);
    Ok((events, race_us, garbled))
}

/// Waits for every child, so none is left a zombie, and records how each one ended.
fn reap(
    children: Vec<Spawned>,
    killed_on_purpose: &HashMap<u32, bool>,
) -> Vec<(u32, u32, ExitStatus)> {
    let _ = killed_on_purpose;
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
) -> Result<(u64, Option<Entry>)> {
    with_lock(lock, || {
        // Without a lock the log is a record of the race, not a journal to replay.
        let (stock, recovered) = if settings.scope == LockScope::None {
            (store::read(&settings.data)?, None)
        } else {
            let settled = recovery::settle(&settings.data, log)?;
            (settled.stock, settled.recovered)
        };
        if settings.durability == Durability::Fsync {
            store::sync_file(&settings.data)?;
        }
        Ok((stock.ticket_num, recovered))
    })
}

/// Joins each buyer's events, exit status and logged orders into one summary per buyer.
fn summarize(
    reaped: &[(u32, u32, ExitStatus)],
    events: &[Message],
    entries: &[Entry],
    chaos_killed: &HashMap<u32, bool>,
) -> Vec<BuyerSummary> {
    reaped
        .iter()
        .map(|&(index, pid, status)| {
            let mine = || events.iter().filter(move |m| m.buyer == index);
            let mut summary = BuyerSummary {
                buyer: index,
                pid,
                searched: None,
                confirmed: 0,
                logged: entries
                    .iter()
                    .filter(|e| e.kind == EntryKind::Order && e.buyer == index)
                    .count() as u64,
                outcome: None,
                ending: Ending::NoReport {
                    exit_code: status.code(),
                },
                delays_ms: Vec::new(),
                lock_wait_us: 0,
            };
            let mut ordered = 0;
            let mut finished_bought = 0;
            for message in mine() {
                match &message.event {
                    Event::Searched { seen } => summary.searched = Some(*seen),
                    Event::Ordered { .. } => ordered += 1,
                    Event::LockAcquired { waited_us } => summary.lock_wait_us += waited_us,
                    Event::Finished {
                        outcome,
                        bought,
                        delays_ms,
                        ..
                    } => {
                        summary.outcome = Some(*outcome);
                        finished_bought = *bought;
                        summary.delays_ms = delays_ms.clone();
                    }
                    Event::Failed { message, exit_code } => {
                        summary.ending = Ending::Failed {
                            message: message.clone(),
                            exit_code: i32::from(*exit_code),
                        };
                    }
                    _ => {}
                }
            }
            // Past the detailed attempts only the report line counts; before it, each
            // `ordered` event is a confirmation even if the buyer died before its report line.
            summary.confirmed = ordered.max(finished_bought);
            if let Some(signal) = status.signal() {
                summary.ending = Ending::Killed {
                    signal,
                    by_chaos: chaos_killed.get(&index).copied().unwrap_or(false),
                };
            } else if summary.outcome.is_some() && status.success() {
                summary.ending = Ending::Finished;
            }
            summary
        })
        .collect()
}

/// Counts for the report that come from outcomes rather than the tally.
pub fn sold_out_buyers(buyers: &[BuyerSummary]) -> usize {
    buyers
        .iter()
        .filter(|b| b.outcome == Some(Outcome::SoldOut) && b.confirmed == 0)
        .count()
}
