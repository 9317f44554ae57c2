//! Both ends of the event pipe every buyer shares: one JSON line per event. Each line is a
//! single `write` shorter than `PIPE_BUF`, so lines from racing buyers never interleave. The
//! launcher reads them as they arrive; readers later sort them by timestamp (a buyer stamps an
//! event just before writing it, so arrival order can differ slightly).

use std::fs::File;
use std::io::{BufRead, BufReader, PipeReader, Write};
use std::os::fd::AsFd;
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec};

use super::clock;
use crate::events::{Event, Message};

/// The buyer's end of the pipe.
pub struct Reporter {
    out: File,
    buyer: u32,
    pid: u32,
    epoch_ns: u64,
}

impl Reporter {
    /// Writes to this process's stdout, which the launcher connected to the shared pipe.
    pub fn on_stdout(buyer: u32, epoch_ns: u64) -> std::io::Result<Reporter> {
        // An unbuffered handle on fd 1: one line must be exactly one write(2).
        let out = File::from(std::io::stdout().as_fd().try_clone_to_owned()?);
        Ok(Reporter {
            out,
            buyer,
            pid: std::process::id(),
            epoch_ns,
        })
    }

    pub fn send(&self, event: Event) {
        let message = Message {
            buyer: self.buyer,
            pid: self.pid,
            t_us: clock::micros_since(self.epoch_ns),
            event,
        };
        let mut line = serde_json::to_vec(&message).expect("an event serializes");
        line.push(b'\n');
        // A launcher that is gone cannot be told anything; the buyer stops on its own then.
        let _ = (&self.out).write_all(&line);
    }
}

/// What the launcher heard on the pipe.
#[derive(Default)]
pub struct Heard {
    pub messages: Vec<Message>,
    /// Lines that were not valid events (a protocol violation, shown in the report).
    pub garbled: Vec<String>,
}

/// What the launcher's listener hears while the race runs.
pub enum Tick<'a> {
    /// A buyer's event, as it arrives.
    Event(&'a Message),
    /// Nothing arrived for [`QUIET`]: a moment to show what was held back (the narration
    /// holds lines briefly to say simultaneous steps once).
    Quiet,
}

/// How long the pipe stays silent before the listener hears [`Tick::Quiet`].
pub const QUIET: Duration = Duration::from_millis(10);

/// The launcher's end: reads every line until the last buyer closes the pipe, handing each
/// event to `on_tick` as it arrives, and a [`Tick::Quiet`] whenever the pipe is silent.
pub fn read_all(
    events: &PipeReader,
    heard: &mut Heard,
    on_tick: &mut dyn FnMut(Tick),
) -> std::io::Result<()> {
    let mut reader = BufReader::new(events);
    let mut line = String::new();
    loop {
        // Lines are written whole, so once the pipe is readable a whole line is there.
        if reader.buffer().is_empty() && !readable_within(events, QUIET)? {
            on_tick(Tick::Quiet);
            continue;
        }
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => return Ok(()),
            Ok(_) => match serde_json::from_str::<Message>(&line) {
                Ok(message) => {
                    on_tick(Tick::Event(&message));
                    heard.messages.push(message);
                }
                Err(_) => heard.garbled.push(line.trim_end().to_string()),
            },
            // A signal arrived mid-read; the buyers it killed close the pipe soon.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Whether the pipe has something to read (a line, or the end) within `wait`.
fn readable_within(events: &PipeReader, wait: Duration) -> std::io::Result<bool> {
    let mut fds = [PollFd::new(events, PollFlags::IN)];
    let timeout = Timespec {
        tv_sec: wait.as_secs() as _,
        tv_nsec: wait.subsec_nanos() as _,
    };
    match rustix::event::poll(&mut fds, Some(&timeout)) {
        Ok(n) => Ok(n > 0),
        // Interrupted by a signal (Ctrl-C): look again; the read loop sees what it brought.
        Err(rustix::io::Errno::INTR) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
