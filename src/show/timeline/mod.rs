//! The race as a picture: one lane per buyer on a common time axis, showing when each buyer
//! waited for the lock, held it, and read and wrote the count. A pure function of the events:
//! `lane` builds each buyer's lane, `axis` maps time to columns, `cell` draws and names them.

mod axis;
mod cell;
mod lane;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use self::axis::Axis;
use self::cell::{draw, legend};
use self::lane::{Lane, lane};
use super::spans;
use super::words::{buyer, cut, pad, width};
use crate::events::{Event, Message};
use crate::lang::tr;
use crate::report::BuyerSummary;

/// Lanes drawn before the rest are summed up in one line: more would scroll the report away.
pub(crate) const MAX_LANES: usize = 40;
/// Width used when stdout is not a terminal (a file, a pipe, a test).
const DEFAULT_WIDTH: usize = 80;
/// The lane's closing note ("read 3, wrote 2") is cut to this many characters.
const NOTE_WIDTH: usize = 26;
/// A lane narrower than this shows nothing useful, so narrow terminals wrap instead.
const MIN_BAR: usize = 20;
/// Characters around the bar on a lane line: the space after the name, two '|' and a space.
const LANE_FRAME: usize = 4;

/// Where the timeline is drawn: how wide, how many lanes, with colour or without.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Canvas {
    pub width: usize,
    pub max_lanes: usize,
    pub color: bool,
    /// Sentences (narration, "Why:") are wrapped to this width: the terminal's, or none when
    /// the output goes to a pipe or a file, where a line should stay whole for grep.
    pub text_width: usize,
}

impl Canvas {
    /// Fits stdout: its width when it is a terminal, and colour unless NO_COLOR (or a pipe)
    /// says otherwise.
    pub(crate) fn for_stdout() -> Canvas {
        let stdout = std::io::stdout();
        let terminal = terminal_size::terminal_size_of(&stdout).map(|(w, _)| usize::from(w.0));
        let color = anstream::AutoStream::choice(&stdout) != anstream::ColorChoice::Never;
        Canvas {
            width: terminal.unwrap_or(DEFAULT_WIDTH),
            max_lanes: MAX_LANES,
            color,
            text_width: terminal.unwrap_or(usize::MAX),
        }
    }
}

/// The timeline's lines, without trailing newlines; empty when there is nothing to draw.
/// `buyers` says how each buyer ended, so the lanes tell the report's story; a buyer without
/// a summary (unit tests) is told from its events alone.
/// `gun_us` is the starting gun on the events' clock: the axis starts there, so its ruler
/// reads the same times as the narration and the report.
pub(crate) fn render(
    events: &[Message],
    buyers: &[BuyerSummary],
    gun_us: u64,
    canvas: &Canvas,
) -> Vec<String> {
    let by_buyer = spans::by_buyer(events);
    // Spawning is the launcher's business, not the race.
    let raced = || events.iter().filter(|m| m.event != Event::Spawned);
    let (Some(first), Some(end)) = (raced().map(|m| m.t_us).min(), raced().map(|m| m.t_us).max())
    else {
        return Vec::new();
    };
    let start = gun_us.min(first);
    let lanes: Vec<Lane> = by_buyer
        .iter()
        .take(canvas.max_lanes)
        .map(|time| lane(time, buyers.iter().find(|b| b.buyer == time.buyer), end))
        .collect();

    let last_buyer = by_buyer.last().map_or(1, |b| b.buyer);
    let label_width = width(&buyer(last_buyer));
    let note_width = lanes
        .iter()
        .map(|l| width(&l.note))
        .max()
        .unwrap_or(0)
        .min(NOTE_WIDTH);
    let bar = canvas
        .width
        .saturating_sub(label_width + note_width + LANE_FRAME)
        .max(MIN_BAR);
    let axis = Axis {
        start,
        span: (end - start).max(1),
        columns: bar,
    };

    let mut lines = vec![tr!(
        "timeline-heading",
        span = axis.unit().show(axis.span),
        column = axis.unit().show(axis.span.div_ceil(bar as u64))
    )];
    lines.push(format!("{:label_width$} {}", "", axis.ruler()));
    let mut used = Vec::new();
    for lane in &lanes {
        let cells = axis.paint(lane);
        used.extend(cells.iter().copied());
        let note = cut(&lane.note, NOTE_WIDTH);
        lines.push(format!(
            "{} |{}| {note}",
            pad(&buyer(lane.buyer), label_width),
            draw(&cells, canvas.color)
        ));
    }
    let room = canvas.width.saturating_sub(label_width + 1);
    if let Some(marker) = first_write_marker(events, &axis, room) {
        lines.push(format!("{:label_width$} {marker}", ""));
    }
    let hidden = by_buyer.len() - lanes.len();
    if hidden > 0 {
        lines.push(format!(
            "{:label_width$}  {}",
            "",
            tr!("timeline-hidden", n = hidden)
        ));
    }
    lines.extend(legend(&used, canvas));
    lines
}

/// A caret under the first write when two or more buyers had read the count before it: the
/// moment their reads went stale, and the picture of overselling. `room` is the width right
/// of the lane names.
fn first_write_marker(events: &[Message], axis: &Axis, room: usize) -> Option<String> {
    let first_write = events
        .iter()
        .find(|m| matches!(m.event, Event::Wrote { .. }))?;
    let readers: BTreeSet<u32> = events
        .iter()
        .filter(|m| matches!(m.event, Event::Read { .. }) && m.t_us < first_write.t_us)
        .map(|m| m.buyer)
        .collect();
    if readers.len() < 2 {
        return None;
    }
    let what = tr!("timeline-first-write", who = buyer(first_write.buyer));
    // +1 for the lane's opening '|'.
    let column = axis.column(first_write.t_us) + 1;
    if column + 2 + width(&what) <= room || column < width(&what) + 1 {
        Some(format!("{:column$}^ {what}", ""))
    } else {
        let pad = column - width(&what) - 1;
        Some(format!("{:pad$}{what} ^", ""))
    }
}
