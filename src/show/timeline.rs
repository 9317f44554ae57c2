//! The race as a picture: one lane per buyer on a common time axis, showing when each buyer
//! waited for the lock, held it, and read and wrote the count. A pure function of the events.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use super::spans::{self, BuyerTime, SpanKind};
use crate::events::{Event, Message};
use crate::report::{BuyerResult, BuyerSummary};
use crate::settings::Step;

/// Lanes drawn before the rest are summed up in one line: more would scroll the report away.
pub const MAX_LANES: usize = 40;
/// Width used when stdout is not a terminal (a file, a pipe, a test).
const DEFAULT_WIDTH: usize = 80;
/// The lane's closing note ("read 3, wrote 2") is cut to this many characters.
const NOTE_WIDTH: usize = 26;
/// A lane narrower than this shows nothing useful, so narrow terminals wrap instead.
const MIN_BAR: usize = 20;
/// Columns per ruler tick, about: room for a label like "1500ms" and a gap.
const COLUMNS_PER_TICK: u64 = 12;
/// Characters around the bar on a lane line: the space after the name, two '|' and a space.
const LANE_FRAME: usize = 4;

/// Where the timeline is drawn: how wide, how many lanes, with colour or without.
#[derive(Debug, Clone, Copy)]
pub struct Canvas {
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
    pub fn for_stdout() -> Canvas {
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

/// What one column of a lane shows; a later kind in this list wins a shared column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Cell {
    Idle,
    /// Still buying, but past the attempts the buyer streams event by event.
    Undrawn,
    /// The simulated network delay, taken without holding the lock.
    Delay,
    WaitingForLock,
    HoldingLock,
    GaveUp,
    SoldOut,
    Read,
    Wrote,
    /// A read and a write fell into the same column.
    ReadAndWrote,
    /// `--serializable`: the database refused the write; the buyer starts again with a new
    /// read, which usually falls into the same column, so this mark wins it.
    Refused,
    /// The buyer died here (SIGKILL): it wins its column, it is the lane's last word.
    Killed,
}

impl Cell {
    fn glyph(self) -> char {
        match self {
            Cell::Idle => ' ',
            Cell::Undrawn => '~',
            Cell::Delay => '-',
            Cell::WaitingForLock => '.',
            Cell::HoldingLock => '=',
            Cell::GaveUp => '!',
            Cell::Refused => '?',
            Cell::SoldOut => 'x',
            Cell::Read => 'R',
            Cell::Wrote => 'W',
            Cell::ReadAndWrote => '*',
            Cell::Killed => 'K',
        }
    }

    fn meaning(self) -> &'static str {
        match self {
            Cell::Idle => "",
            Cell::Undrawn => "buying, not drawn step by step",
            Cell::Delay => "network delay, no lock",
            Cell::WaitingForLock => "waiting for the lock",
            Cell::HoldingLock => "holding the lock",
            Cell::GaveUp => "gave up or failed",
            Cell::Refused => "refused by the database, retried",
            Cell::SoldOut => "sold out",
            Cell::Read => "read",
            Cell::Wrote => "wrote",
            Cell::ReadAndWrote => "read and wrote",
            Cell::Killed => "killed (SIGKILL)",
        }
    }

    fn style(self) -> Style {
        let fg = |c: AnsiColor| Style::new().fg_color(Some(c.into()));
        match self {
            Cell::Idle => Style::new(),
            Cell::Undrawn | Cell::Delay => fg(AnsiColor::BrightBlack),
            Cell::WaitingForLock => fg(AnsiColor::Yellow),
            Cell::HoldingLock => fg(AnsiColor::Green),
            Cell::GaveUp | Cell::SoldOut | Cell::Refused => fg(AnsiColor::Red),
            Cell::Killed => fg(AnsiColor::BrightRed).bold(),
            Cell::Read => fg(AnsiColor::Cyan).bold(),
            Cell::Wrote | Cell::ReadAndWrote => fg(AnsiColor::Magenta).bold(),
        }
    }

    /// The legend's order: the lock first, then what happens to the count.
    const LEGEND: [Cell; 11] = [
        Cell::WaitingForLock,
        Cell::HoldingLock,
        Cell::Delay,
        Cell::Read,
        Cell::Wrote,
        Cell::ReadAndWrote,
        Cell::SoldOut,
        Cell::Killed,
        Cell::Refused,
        Cell::GaveUp,
        Cell::Undrawn,
    ];
}

/// One buyer's time, as spans (from, to) and instants, in microseconds on the shared clock.
struct Lane {
    buyer: u32,
    spans: Vec<(Cell, u64, u64)>,
    marks: Vec<(Cell, u64)>,
    note: String,
}

/// The timeline's lines, without trailing newlines; empty when there is nothing to draw.
/// `buyers` says how each buyer ended, so the lanes tell the report's story; a buyer without
/// a summary (unit tests) is told from its events alone.
pub fn render(events: &[Message], buyers: &[BuyerSummary], canvas: &Canvas) -> Vec<String> {
    let by_buyer = spans::by_buyer(events);
    // The axis starts at the starting gun: spawning is the launcher's business, not the race.
    let raced = || events.iter().filter(|m| m.event != Event::Spawned);
    let (Some(start), Some(end)) = (raced().map(|m| m.t_us).min(), raced().map(|m| m.t_us).max())
    else {
        return Vec::new();
    };
    let lanes: Vec<Lane> = by_buyer
        .iter()
        .take(canvas.max_lanes)
        .map(|time| lane(time, buyers.iter().find(|b| b.buyer == time.buyer), end))
        .collect();

    let last_buyer = by_buyer.last().map_or(1, |b| b.buyer);
    let label_width = format!("buyer-{last_buyer}").len();
    let note_width = lanes
        .iter()
        .map(|l| l.note.chars().count())
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

    let mut lines = vec![format!(
        "Timeline ({}, one column = {})",
        axis.unit().show(axis.span),
        axis.unit().show(axis.span.div_ceil(bar as u64))
    )];
    lines.push(format!("{:label_width$} {}", "", axis.ruler()));
    let mut used = Vec::new();
    for lane in &lanes {
        let cells = axis.paint(lane);
        used.extend(cells.iter().copied());
        let note: String = lane.note.chars().take(NOTE_WIDTH).collect();
        let name = format!("buyer-{}", lane.buyer);
        lines.push(format!(
            "{name:<label_width$} |{}| {note}",
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
            "{:label_width$}  ... {hidden} more {} not shown (--trace FILE draws every one)",
            "",
            if hidden == 1 { "buyer" } else { "buyers" }
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
    let what = format!("first write (buyer-{})", first_write.buyer);
    // +1 for the lane's opening '|'.
    let column = axis.column(first_write.t_us) + 1;
    if column + 2 + what.len() <= room || column < what.len() + 1 {
        Some(format!("{:column$}^ {what}", ""))
    } else {
        let pad = column - what.len() - 1;
        Some(format!("{:pad$}{what} ^", ""))
    }
}

/// Builds a buyer's lane from its spans and the instants among its events; its closing note
/// says how it ended, in the words of the report. `end` is the race's last moment.
fn lane(time: &BuyerTime, summary: Option<&BuyerSummary>, end: u64) -> Lane {
    let mut spans: Vec<(Cell, u64, u64)> = time
        .spans
        .iter()
        .filter_map(|s| {
            let cell = match s.kind {
                SpanKind::LockWait { .. } => Cell::WaitingForLock,
                SpanKind::Holding { .. } => Cell::HoldingLock,
                // A delay under the lock is drawn as holding it: that is what the others see.
                SpanKind::Delay { locked: true, .. } => return None,
                SpanKind::Delay { locked: false, .. } => Cell::Delay,
            };
            Some((cell, s.from, s.to))
        })
        .collect();
    let mut marks = Vec::new();
    let mine = &time.events;
    let mut story = Story::default();
    for (i, message) in mine.iter().enumerate() {
        let t = message.t_us;
        match &message.event {
            Event::LockTimedOut { .. } | Event::Failed { .. } => marks.push((Cell::GaveUp, t)),
            Event::Read { seen } => {
                marks.push((Cell::Read, t));
                story.reads.push(*seen);
            }
            Event::Wrote { ticket_num } => {
                marks.push((Cell::Wrote, t));
                story.wrote = Some(*ticket_num);
            }
            Event::SoldOut { .. } => {
                marks.push((Cell::SoldOut, t));
                story.sold_out = true;
            }
            Event::Retried { .. } => marks.push((Cell::Refused, t)),
            Event::Killed { step, .. } => {
                marks.push((Cell::Killed, t));
                story.killed_at = Some(*step);
            }
            Event::Finished {
                outcome,
                bought,
                attempts,
                ..
            } => {
                // Past the streamed attempts the buyer went on buying without telling us how.
                if *attempts > story.reads.len() as u64 && i > 0 {
                    spans.push((Cell::Undrawn, mine[i - 1].t_us, t));
                }
                story.bought = *bought;
                story.attempts = *attempts;
                story.result = Some(BuyerResult::of(
                    &crate::report::Ending::Finished,
                    Some(*outcome),
                    *bought,
                ));
            }
            _ => {}
        }
    }
    if story.killed_at.is_some() {
        story.result = Some(BuyerResult::Killed);
    }
    if let Some(summary) = summary {
        story.result = Some(summary.result);
        story.bought = story.bought.max(summary.confirmed);
        // A death nobody announced (an interrupt, a crash) shows where the race ends, the
        // last moment the buyer can be said to have lived; a wait it never finished lasts
        // until then.
        if summary.result == BuyerResult::Killed && story.killed_at.is_none() {
            marks.push((Cell::Killed, end));
            if let Some(wait) = unfinished_wait(mine) {
                spans.push((Cell::WaitingForLock, wait, end));
            }
        }
    }
    Lane {
        buyer: time.buyer,
        spans,
        marks,
        note: story.note(),
    }
}

/// When the buyer began a lock wait that never ended, if it did.
fn unfinished_wait(mine: &[&Message]) -> Option<u64> {
    let mut waiting = None;
    for message in mine {
        match message.event {
            Event::LockWait { .. } => waiting = Some(message.t_us),
            Event::LockAcquired { .. } | Event::LockTimedOut { .. } => waiting = None,
            _ => {}
        }
    }
    waiting
}

/// What a lane's closing note is made of.
#[derive(Default)]
struct Story {
    reads: Vec<u64>,
    wrote: Option<u64>,
    bought: u64,
    attempts: u64,
    killed_at: Option<Step>,
    sold_out: bool,
    result: Option<BuyerResult>,
}

impl Story {
    /// "read 3, wrote 2", "read 0, sold out", "bought 6, then sold out", "killed at lock_held":
    /// the same outcome the report's rows and the JSON `result` give this buyer.
    fn note(&self) -> String {
        let single = match self.reads.as_slice() {
            [seen] if self.attempts <= 1 => Some(*seen),
            _ => None,
        };
        let read = single.map(|seen| format!("read {seen}, "));
        let read = read.as_deref().unwrap_or("");
        let bought = self.bought;
        match self.result {
            Some(BuyerResult::Bought) => match (single, self.wrote) {
                (Some(_), Some(n)) => format!("{read}wrote {n}"),
                _ => format!("bought {bought}"),
            },
            Some(BuyerResult::SoldOut) => format!("{read}sold out"),
            Some(BuyerResult::SoldOutAfterBuying) => format!("bought {bought}, then sold out"),
            Some(BuyerResult::LockTimeout) if bought > 0 => {
                format!("bought {bought}, then timed out")
            }
            Some(BuyerResult::LockTimeout) => "gave up on the lock".to_string(),
            Some(BuyerResult::Killed) => match self.killed_at {
                Some(step) => format!("killed at {step}"),
                None => format!("{read}killed"),
            },
            Some(BuyerResult::Failed) => "failed".to_string(),
            // No report line: told from the last steps alone.
            None => match (self.reads.last(), self.wrote, self.sold_out) {
                (Some(seen), _, true) => format!("read {seen}, sold out"),
                (Some(seen), Some(n), false) => format!("read {seen}, wrote {n}"),
                (Some(seen), None, false) => format!("read {seen}"),
                _ => String::new(),
            },
        }
    }
}

/// Maps the race's time onto the columns of a lane.
struct Axis {
    start: u64,
    span: u64,
    columns: usize,
}

impl Axis {
    fn column(&self, t_us: u64) -> usize {
        let offset = t_us.saturating_sub(self.start);
        ((offset as u128 * self.columns as u128 / self.span as u128) as usize).min(self.columns - 1)
    }

    fn paint(&self, lane: &Lane) -> Vec<Cell> {
        let mut cells = vec![Cell::Idle; self.columns];
        for &(kind, from, to) in &lane.spans {
            let (mut first, last) = (self.column(from), self.column(to.max(from)));
            // A lock held for a column or two would vanish under its write mark (as with
            // --lock-scope write); one column early keeps it visible.
            if kind == Cell::HoldingLock && last - first <= 1 && first > 0 {
                first -= 1;
            }
            for cell in &mut cells[first..=last] {
                *cell = (*cell).max(kind);
            }
        }
        for &(kind, t) in &lane.marks {
            let cell = &mut cells[self.column(t)];
            *cell = match (*cell, kind) {
                (Cell::Read, Cell::Wrote) | (Cell::Wrote, Cell::Read) => Cell::ReadAndWrote,
                (old, new) => old.max(new),
            };
        }
        cells
    }

    /// Tick labels at round times ("0ms  100ms  200ms"), each starting at its own column.
    /// The time between two labels of the ruler.
    fn step(&self) -> u64 {
        nice_step(self.span / (self.columns as u64 / COLUMNS_PER_TICK).max(1))
    }

    /// The one unit every time on this axis is given in.
    fn unit(&self) -> Unit {
        Unit::for_step(self.step())
    }

    fn ruler(&self) -> String {
        let step = self.step();
        let unit = self.unit();
        let mut ruler = String::new();
        let mut t = 0;
        while t <= self.span {
            let column = self.column(self.start + t) + 1; // +1 for the lane's opening '|'
            let label = unit.show(t);
            if column >= ruler.len() + usize::from(!ruler.is_empty())
                && column + label.len() <= self.columns + 2
            {
                let pad = column - ruler.len();
                let _ = write!(ruler, "{:pad$}{label}", "");
            }
            t += step;
        }
        ruler
    }
}

/// The smallest of 1, 2 or 5 times a power of ten that is at least `raw` microseconds.
fn nice_step(raw: u64) -> u64 {
    let mut power = 1;
    loop {
        for factor in [1, 2, 5] {
            if factor * power >= raw.max(1) {
                return factor * power;
            }
        }
        power *= 10;
    }
}

/// The unit of an axis, chosen once from its tick step, so the ruler never mixes "1s" with
/// "1500ms".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Micros,
    Millis,
    Seconds,
}

impl Unit {
    fn for_step(step_us: u64) -> Unit {
        if step_us >= 1_000_000 {
            Unit::Seconds
        } else if step_us >= 1_000 {
            Unit::Millis
        } else {
            Unit::Micros
        }
    }

    /// "250ms", "1.5s", "80us": `us` in this unit, to about three significant digits.
    fn show(self, us: u64) -> String {
        let (per_unit, suffix) = match self {
            Unit::Micros => (1, "us"),
            Unit::Millis => (1_000, "ms"),
            Unit::Seconds => (1_000_000, "s"),
        };
        let value = us as f64 / per_unit as f64;
        let decimals = match value {
            v if v >= 100.0 => 0,
            v if v >= 10.0 => 1,
            _ => 2,
        };
        let text = format!("{value:.decimals$}");
        let text = if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.')
        } else {
            &text
        };
        format!("{text}{suffix}")
    }
}

/// The cells as text, each run of one kind in its colour when colour is on.
fn draw(cells: &[Cell], color: bool) -> String {
    let mut out = String::new();
    for (i, &cell) in cells.iter().enumerate() {
        let style = cell.style();
        let opens = color && (i == 0 || cells[i - 1].style() != style);
        let closes = color && cells.get(i + 1).is_none_or(|next| next.style() != style);
        if opens {
            let _ = write!(out, "{}", style.render());
        }
        out.push(cell.glyph());
        if closes {
            let _ = write!(out, "{}", style.render_reset());
        }
    }
    out
}

/// The legend, naming only the glyphs the picture used, wrapped to the canvas width.
fn legend(used: &[Cell], canvas: &Canvas) -> Vec<String> {
    const HEAD: &str = "Legend: ";
    const GAP: &str = "  ";
    let mut lines = Vec::new();
    let mut line = HEAD.to_string();
    let mut visible = HEAD.len();
    for &cell in Cell::LEGEND.iter().filter(|cell| used.contains(cell)) {
        let entry = 2 + cell.meaning().len();
        if visible > HEAD.len() && visible + GAP.len() + entry > canvas.width {
            lines.push(std::mem::replace(&mut line, " ".repeat(HEAD.len())));
            visible = HEAD.len();
        }
        if visible > HEAD.len() {
            line.push_str(GAP);
            visible += GAP.len();
        }
        let _ = write!(line, "{} {}", draw(&[cell], canvas.color), cell.meaning());
        visible += entry;
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Outcome;

    fn at(buyer: u32, t_ms: u64, event: Event) -> Message {
        Message {
            buyer,
            pid: 1000 + buyer,
            t_us: t_ms * 1_000,
            event,
        }
    }

    fn plain(width: usize) -> Canvas {
        Canvas {
            width,
            max_lanes: MAX_LANES,
            color: false,
            text_width: width,
        }
    }

    /// The lane of `buyer` between its bars.
    fn bar_of(lines: &[String], buyer: u32) -> String {
        let name = format!("buyer-{buyer} ");
        let line = lines.iter().find(|l| l.starts_with(&name)).expect("lane");
        line.split('|').nth(1).expect("bar").to_string()
    }

    /// Two buyers, one lock: buyer 1 holds it 0..100 ms while buyer 2 waits, then buyer 2.
    fn locked_race() -> Vec<Message> {
        vec![
            at(1, 0, Event::Started),
            at(2, 0, Event::Started),
            at(1, 0, Event::LockAcquired { waited_us: 0 }),
            at(1, 0, Event::Read { seen: 1 }),
            at(2, 0, Event::LockWait { holder: Some(1001) }),
            at(1, 0, Event::Delay { ms: 100 }),
            at(1, 100, Event::Wrote { ticket_num: 0 }),
            at(1, 100, Event::LockReleased),
            at(2, 100, Event::LockAcquired { waited_us: 100_000 }),
            at(2, 100, Event::Read { seen: 0 }),
            at(2, 100, Event::Delay { ms: 100 }),
            at(2, 200, Event::SoldOut { seen: 0 }),
            at(2, 200, Event::LockReleased),
        ]
    }

    #[test]
    fn a_locked_race_shows_one_holder_while_the_other_waits() {
        let lines = render(&locked_race(), &[], &plain(80));
        let first = bar_of(&lines, 1);
        let second = bar_of(&lines, 2);
        assert!(first.starts_with("R===="), "{lines:#?}");
        assert!(first.trim_end().ends_with('W'), "{lines:#?}");
        assert!(second.starts_with("....."), "{lines:#?}");
        assert!(second.trim_end().ends_with('x'), "{lines:#?}");
        // Where buyer 1 holds the lock, buyer 2 only waits.
        for (a, b) in first.chars().zip(second.chars()) {
            assert!(!(a == '=' && b == '='), "both hold the lock{lines:#?}");
        }
        assert!(lines.iter().any(|l| l.ends_with("read 1, wrote 0")));
        assert!(lines.iter().any(|l| l.ends_with("read 0, sold out")));
    }

    #[test]
    fn the_legend_names_only_what_the_picture_uses() {
        let lines = render(&locked_race(), &[], &plain(80));
        let legend = lines[lines.len() - 2..].concat();
        assert!(legend.contains(". waiting for the lock"), "{legend}");
        assert!(legend.contains("= holding the lock"), "{legend}");
        assert!(!legend.contains("network delay without"), "{legend}");
    }

    #[test]
    fn without_the_lock_every_lane_reads_before_the_first_write() {
        let mut events = Vec::new();
        for buyer in 1..=3 {
            events.push(at(buyer, 0, Event::Read { seen: 1 }));
            events.push(at(buyer, 0, Event::Delay { ms: 100 }));
        }
        for buyer in 1..=3 {
            events.push(at(
                buyer,
                100 + u64::from(buyer) * 50,
                Event::Wrote { ticket_num: 0 },
            ));
        }
        let lines = render(&events, &[], &plain(80));
        for buyer in 1..=3 {
            let bar = bar_of(&lines, buyer);
            assert!(bar.starts_with("R---"), "{lines:#?}");
            assert!(bar.contains('W'), "{lines:#?}");
        }
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.ends_with("read 1, wrote 0"))
                .count(),
            3
        );
        let caret = lines
            .iter()
            .find(|l| l.contains("first write (buyer-1)"))
            .expect("a marker under the first write");
        let write_column = lines
            .iter()
            .find(|l| l.starts_with("buyer-1 "))
            .and_then(|l| l.find('W'));
        assert_eq!(caret.find('^'), write_column, "{lines:#?}");
    }

    #[test]
    fn every_line_fits_the_width() {
        for width in [60, 80, 132] {
            for line in render(&locked_race(), &[], &plain(width)) {
                assert!(line.chars().count() <= width, "{width}: {line}");
            }
        }
    }

    #[test]
    fn many_buyers_show_the_first_lanes_and_count_the_rest() {
        let events: Vec<Message> = (1..=50)
            .map(|b| at(b, 0, Event::Read { seen: 3 }))
            .collect();
        let canvas = Canvas {
            max_lanes: 40,
            ..plain(80)
        };
        let lines = render(&events, &[], &canvas);
        assert!(lines.iter().any(|l| l.starts_with("buyer-40 ")));
        assert!(!lines.iter().any(|l| l.starts_with("buyer-41 ")));
        assert!(lines.iter().any(|l| l.contains("10 more buyers not shown")));
    }

    #[test]
    fn attempts_past_the_streamed_ones_are_drawn_as_busy() {
        let events = vec![
            at(1, 0, Event::Read { seen: 9 }),
            at(1, 1, Event::Wrote { ticket_num: 8 }),
            at(
                1,
                100,
                Event::Finished {
                    outcome: Outcome::SoldOut,
                    searched: 9,
                    bought: 500,
                    attempts: 501,
                    delays_ms: Vec::new(),
                    retries: 0,
                },
            ),
        ];
        let lines = render(&events, &[], &plain(80));
        assert!(bar_of(&lines, 1).contains("~~~~"), "{lines:#?}");
        assert!(
            lines
                .iter()
                .any(|l| l.ends_with("bought 500, then sold out")),
            "{lines:#?}"
        );
    }

    #[test]
    fn colour_is_only_added_when_asked_for() {
        let canvas = Canvas {
            color: true,
            ..plain(80)
        };
        assert!(
            render(&locked_race(), &[], &canvas)
                .concat()
                .contains("\x1b[")
        );
        assert!(
            !render(&locked_race(), &[], &plain(80))
                .concat()
                .contains('\x1b')
        );
    }

    #[test]
    fn one_axis_speaks_one_unit() {
        assert_eq!(Unit::for_step(500_000).show(1_500_000), "1500ms");
        assert_eq!(Unit::for_step(1_000_000).show(1_500_000), "1.5s");
        assert_eq!(Unit::for_step(1_000_000).show(2_047_000), "2.05s");
        assert_eq!(Unit::for_step(50_000).show(281_362), "281ms");
        assert_eq!(Unit::for_step(50_000).show(0), "0ms");
        assert_eq!(Unit::for_step(200).show(80), "80us");
        // A long race: its ruler counts whole seconds, never "1500ms" beside "1s".
        let events = vec![
            at(1, 0, Event::Read { seen: 1 }),
            at(1, 2_500, Event::Wrote { ticket_num: 0 }),
        ];
        let lines = render(&events, &[], &plain(80));
        assert!(
            lines[0].starts_with("Timeline (2.5s, one column = "),
            "{lines:#?}"
        );
        assert!(
            lines[0].ends_with("s)") && !lines[0].contains("ms"),
            "{lines:#?}"
        );
        assert!(!lines[1].contains("ms"), "{lines:#?}");
    }

    #[test]
    fn no_events_draw_nothing() {
        assert!(render(&[], &[], &plain(80)).is_empty());
    }
}
