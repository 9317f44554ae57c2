//! `explore --interactive`: the person at the keyboard is the scheduler. Before every move it
//! shows where each buyer is, what the data file says and who holds the lock, reads a buyer's
//! number from stdin, then tells what the move did: the buyers' own events, an oversell the
//! moment it happens, and with the lock, why a buyer has to wait.

use std::io::IsTerminal as _;

use super::Workbench;
use crate::events::{Event, Message};
use crate::exit::{Exit, Result};
use crate::lang::tr;
use crate::race::interrupt;
use crate::race::stepper::{Chooser, Floor, Position};
use crate::settings::{Exploration, Move};
use crate::shop::data_file;
use crate::show::explore::board as explore;
use crate::show::narrate::{Detail, Narrator};
use crate::show::story::Story;
use crate::show::{out, schedule, text, timeline};

pub(super) fn run(bench: &Workbench, exploration: &Exploration) -> Result<Exit> {
    out::line(&explore::intro(exploration));
    let canvas = timeline::Canvas::for_stdout();
    let mut player = Player {
        input: Answers::default(),
        narrator: Narrator::new(Detail::Steps, exploration.buyers, canvas.text_width),
        told: 0,
        keyboard: std::io::stdin().is_terminal(),
        bench,
        exploration,
    };
    let trial = bench.trial(&mut player)?;
    let settings = &bench.settings;
    if trial.stopped {
        let stopped = tr!(
            "interactive-stopped",
            n = trial.schedule.0.len(),
            schedule = trial.schedule.to_string()
        );
        out::line(&format!("\n{stopped}"));
        return Ok(if interrupt::interrupted() {
            Exit::Interrupted
        } else {
            Exit::Success
        });
    }
    // The last move's events came after the last question.
    player.tell(&trial.result.events);
    let result = &trial.result;
    let picture = timeline::render(&result.events, &result.buyers, result.gun_us, &canvas);
    out::line(&format!("\n{}", picture.join("\n")));
    let story = Story::of(&trial.result);
    out::print(&text::report(
        settings,
        &trial.result,
        &story,
        canvas.text_width,
    ));
    let schedule = trial.schedule.to_string();
    out::line(&tr!("your-schedule", schedule = schedule));
    let command = schedule::replay_command(
        &exploration.data,
        exploration.buyers,
        exploration.tickets,
        exploration.scope,
        &trial.schedule,
    );
    out::line(&tr!("replay-it", command = command));
    out::line(&explore::moral(
        exploration.scope,
        trial.result.tally.status(),
    ));
    Ok(Exit::Success)
}

/// The chooser that asks the person at the keyboard.
struct Player<'a> {
    input: Answers,
    narrator: Narrator,
    /// Events already told.
    told: usize,
    /// Whether stdin is a terminal (which echoes what is typed).
    keyboard: bool,
    bench: &'a Workbench,
    exploration: &'a Exploration,
}

impl Player<'_> {
    /// Narrates the events since the last time, with a lesson after a stale write.
    fn tell(&mut self, heard: &[Message]) {
        for (i, message) in heard.iter().enumerate().skip(self.told) {
            for line in self.narrator.event(message) {
                out::line(&line);
            }
            if let Event::Wrote { .. } = message.event
                && let Some(lesson) = explore::stale_write(&heard[..=i], self.exploration.tickets)
            {
                out::line(&lesson);
            }
        }
        self.told = self.told.max(heard.len());
    }
}

impl Chooser for Player<'_> {
    fn choose(&mut self, floor: &Floor, heard: &[Message]) -> Option<u32> {
        self.tell(heard);
        if let Some(last) = floor.taken().last()
            && last.mv == Move::Lock
            && floor.position(last.buyer) == Position::Waiting
        {
            out::line(&explore::wait_lesson(floor, last.buyer));
        }
        let count = data_file::DataFile::open(self.bench.settings.data())
            .and_then(|file| data_file::read(&file))
            .map(|stock| stock.ticket_num);
        out::line(&format!("\n{}", explore::board(floor, count.ok())));
        loop {
            out::print(&explore::prompt(floor));
            let line = match self.input.next() {
                Answer::Line(line) => {
                    if !self.keyboard {
                        // Typed answers echo on a terminal; piped ones are shown so the
                        // transcript reads the same.
                        out::line(&line);
                    }
                    line
                }
                // End of input: stop here, like q.
                Answer::End => {
                    out::line("");
                    return None;
                }
                // Ctrl-C: the handler has killed the buyers; stop without another question.
                Answer::Interrupted => {
                    out::line("");
                    return None;
                }
            };
            match line.trim() {
                "" => {}
                "q" | "quit" | "exit" => return None,
                "h" | "help" | "?" => out::line(&explore::help(floor.scope())),
                word => match word.parse::<u32>() {
                    Ok(buyer) if (1..=floor.buyers()).contains(&buyer) => {
                        match floor.next_move(buyer) {
                            Ok(_) => return Some(buyer),
                            Err(stuck) => out::line(&explore::cannot_move(floor, buyer, stuck)),
                        }
                    }
                    _ => out::line(&explore::retype(floor)),
                },
            }
        }
    }
}

/// What the person typed next.
enum Answer {
    Line(String),
    /// Stdin closed (or broke): stop, like q.
    End,
    /// Ctrl-C, SIGTERM or SIGHUP arrived while waiting for the answer.
    Interrupted,
}

/// Lines from stdin, read with read(2) itself: std's readers retry a read cut short by a
/// signal, so Ctrl-C at the prompt would kill the buyers and then go on waiting for a line.
#[derive(Default)]
struct Answers {
    /// Bytes read past the last line handed out.
    pending: Vec<u8>,
}

impl Answers {
    fn next(&mut self) -> Answer {
        loop {
            if interrupt::interrupted() {
                return Answer::Interrupted;
            }
            if let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                let text = String::from_utf8_lossy(&line[..end]);
                return Answer::Line(text.trim_end_matches('\r').to_string());
            }
            // A signal between the check above and read(2) would not cut the read short: wait
            // in slices, so an interrupt is seen within one whatever its timing.
            // An error is left to the read below to report.
            if let Ok(false) = crate::sys::wait_stdin(std::time::Duration::from_millis(200)) {
                continue;
            }
            let mut chunk = [0u8; 256];
            match crate::sys::read_stdin(&mut chunk) {
                Ok(0) if self.pending.is_empty() => return Answer::End,
                // A last line without its newline.
                Ok(0) => self.pending.push(b'\n'),
                Ok(n) => self.pending.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Answer::End,
            }
        }
    }
}
