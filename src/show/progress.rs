//! The live progress line during a long race: tickets left, buyers done and waiting for the
//! lock. Drawn on stderr, and only when both stdout and stderr are terminals.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::events::{Event, Message};
use crate::lang::tr;
use crate::settings::{Output, Restock, Settings};

/// A race shorter than this is over before a progress line could help, so it never shows.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// What the line says, updated from every event.
pub(crate) struct Progress {
    /// None when the line must never show (piped output, `--json`).
    bar: Option<ProgressBar>,
    started: Instant,
    tickets_left: Option<u64>,
    waiting: HashSet<u32>,
}

impl Progress {
    pub(crate) fn for_run(settings: &Settings) -> Progress {
        let shown = settings.output() != Output::Json
            && std::io::stdout().is_terminal()
            && std::io::stderr().is_terminal();
        let bar = shown.then(|| {
            // Hidden until SHOW_AFTER has passed; drawn to stderr from then on.
            let bar = ProgressBar::hidden().with_style(
                ProgressStyle::with_template(&format!(
                    "{{spinner}} {{elapsed:>3}} [{{bar:16}}] {{pos}}/{{len}} {}{{msg}}",
                    tr!("progress-template")
                ))
                .expect("the template is valid")
                .progress_chars("=> "),
            );
            bar.set_length(u64::from(settings.buyers()));
            bar
        });
        Progress {
            bar,
            started: Instant::now(),
            tickets_left: match settings.restock() {
                Restock::To(t) => Some(t),
                Restock::Keep => None,
            },
            waiting: HashSet::new(),
        }
    }

    /// Takes in one event; shows the line once the race has run long enough.
    pub(crate) fn observe(&mut self, message: &Message) {
        let Some(bar) = &self.bar else {
            return;
        };
        match &message.event {
            Event::Searched { seen } if self.tickets_left.is_none() => {
                self.tickets_left = Some(*seen);
            }
            Event::Wrote { ticket_num } => self.tickets_left = Some(*ticket_num),
            Event::LockWait { .. } => {
                self.waiting.insert(message.buyer);
            }
            Event::LockAcquired { .. } | Event::LockTimedOut { .. } => {
                self.waiting.remove(&message.buyer);
            }
            Event::Finished { .. } | Event::Failed { .. } => bar.inc(1),
            _ => {}
        }
        let left = self
            .tickets_left
            .map_or_else(|| tr!("progress-unknown"), |t| tr!("progress-left", n = t));
        bar.set_message(tr!(
            "progress-line",
            left = left,
            waiting = self.waiting.len()
        ));
        if bar.is_hidden() && self.started.elapsed() >= SHOW_AFTER {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.enable_steady_tick(Duration::from_millis(100));
        }
    }

    /// Prints a narration line on stdout without tearing the progress line on stderr.
    pub(crate) fn println(&self, line: &str) {
        let print = || super::out::line(line);
        match &self.bar {
            Some(bar) if !bar.is_hidden() => bar.suspend(print),
            _ => print(),
        }
    }

    /// Takes the line off the terminal before the report is printed.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
