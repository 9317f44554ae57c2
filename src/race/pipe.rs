//! Both ends of the event pipe every buyer shares: one JSON line per event. Each line is a
//! single `write` shorter than `PIPE_BUF`, so lines from racing buyers never interleave. The
//! launcher reads them as they arrive; readers later sort them by timestamp (a buyer stamps an
//! event just before writing it, so arrival order can differ slightly).

use std::fs::File;
use std::io::{BufRead, BufReader, PipeReader, Write};
use std::time::Duration;

use super::clock;
use crate::events::{Event, Message};

/// The buyer's end of the pipe.
pub(crate) struct Reporter {
    out: File,
    buyer: u32,
    pid: u32,
    epoch_ns: u64,
}

impl Reporter {
    /// Writes to this process's stdout, which the launcher connected to the shared pipe.
    pub(crate) fn on_stdout(buyer: u32, epoch_ns: u64) -> std::io::Result<Reporter> {
        // An unbuffered handle on fd 1: one line must be exactly one write(2).
        let out = crate::sys::raw_stdout()?;
        Ok(Reporter {
            out,
            buyer,
            pid: std::process::id(),
            epoch_ns,
        })
    }

    pub(crate) fn send(&self, event: Event) {
        // A take is stamped when the lock was granted (see `Event::LockAcquired`).
        let t_us = match event {
            Event::LockAcquired { granted_ns, .. } if granted_ns != 0 => {
                granted_ns.saturating_sub(self.epoch_ns) / 1_000
            }
            _ => clock::micros_since(self.epoch_ns),
        };
        let message = Message {
            buyer: self.buyer,
            pid: self.pid,
            t_us,
            event,
        };
        let mut line = serde_json::to_vec(&message).expect("an event serializes");
        line.push(b'\n');
        // A launcher that is gone cannot be told anything, and a buyer nobody hears must not
        // go on buying: where no parent-death signal stopped us already (other Unix), the
        // pipe closing is how we notice.
        if let Err(e) = (&self.out).write_all(&line)
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            std::process::exit(0);
        }
    }
}

/// What the launcher heard on the pipe.
#[derive(Default)]
pub(crate) struct Heard {
    pub messages: Vec<Message>,
    /// Lines that were not valid events (a protocol violation, shown in the report).
    pub garbled: Vec<String>,
}

/// What the launcher's listener hears while the race runs.
pub(crate) enum Tick<'a> {
    /// The starting gun fired at `t_us` on the run's clock: every view counts time from here.
    Gun { t_us: u64 },
    /// A buyer's event, as it arrives.
    Event(&'a Message),
    /// Nothing arrived for [`QUIET`]: a moment to show what was held back (the narration
    /// holds lines briefly to say simultaneous steps once).
    Quiet,
}

/// How long the pipe stays silent before the listener hears [`Tick::Quiet`].
pub(crate) const QUIET: Duration = Duration::from_millis(10);

/// What the next line on the pipe was.
pub(crate) enum Next {
    Message(Message),
    /// A line that is not a valid event.
    Garbled(String),
    /// Every buyer has closed its end.
    Closed,
    /// Nothing arrived within the time given.
    Quiet,
}

/// The launcher's end, read one line at a time: a stepped race waits for particular reports,
/// and must be able to look up from the pipe to notice a buyer that died instead.
pub(crate) struct Listener<'a> {
    reader: BufReader<&'a PipeReader>,
}

impl<'a> Listener<'a> {
    pub(crate) fn new(events: &'a PipeReader) -> Listener<'a> {
        Listener {
            reader: BufReader::new(events),
        }
    }

    /// The next line; with `patience`, `Quiet` if none arrives in that time.
    pub(crate) fn next(&mut self, patience: Option<Duration>) -> std::io::Result<Next> {
        if let Some(patience) = patience
            && !self.ready(patience)?
        {
            return Ok(Next::Quiet);
        }
        let mut line = String::new();
        loop {
            match self.reader.read_line(&mut line) {
                Ok(0) => return Ok(Next::Closed),
                Ok(_) => break,
                // A signal arrived mid-read; the buyers it killed close the pipe soon.
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(match serde_json::from_str::<Message>(&line) {
            Ok(message) => Next::Message(message),
            Err(_) => Next::Garbled(line.trim_end().to_string()),
        })
    }

    /// Reads every remaining line until the pipe closes. `on_tick` hears each event as it
    /// arrives, and [`Tick::Quiet`] whenever the pipe has been silent for [`QUIET`].
    pub(crate) fn read_rest(
        &mut self,
        heard: &mut Heard,
        on_tick: &mut dyn FnMut(Tick),
    ) -> std::io::Result<()> {
        loop {
            match self.next(Some(QUIET))? {
                Next::Message(message) => {
                    on_tick(Tick::Event(&message));
                    heard.messages.push(message);
                }
                Next::Garbled(line) => heard.garbled.push(line),
                Next::Quiet => on_tick(Tick::Quiet),
                Next::Closed => return Ok(()),
            }
        }
    }

    /// Whether a whole line can be read without blocking, waiting up to `patience` for one.
    /// Every line is one write shorter than PIPE_BUF, so once the pipe is readable the whole
    /// line is there.
    fn ready(&self, patience: Duration) -> std::io::Result<bool> {
        if self.reader.buffer().contains(&b'\n') {
            return Ok(true);
        }
        crate::sys::wait_readable(self.reader.get_ref(), patience)
    }
}
