//! What a column of a lane can show: its glyph, colour and meaning, and the legend.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use super::Canvas;
use crate::lang::tr;
use crate::show::words::width;

/// What one column of a lane shows; a later kind in this list wins a shared column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Cell {
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
    pub(super) fn glyph(self) -> char {
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

    fn meaning(self) -> String {
        let key = match self {
            Cell::Idle => return String::new(),
            Cell::Undrawn => "undrawn",
            Cell::Delay => "delay",
            Cell::WaitingForLock => "waiting",
            Cell::HoldingLock => "holding",
            Cell::GaveUp => "gave_up",
            Cell::Refused => "refused",
            Cell::SoldOut => "sold_out",
            Cell::Read => "read",
            Cell::Wrote => "wrote",
            Cell::ReadAndWrote => "read_and_wrote",
            Cell::Killed => "killed",
        };
        tr!("legend-entry", cell = key)
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

/// The cells as text, each run of one kind in its colour when colour is on.
pub(super) fn draw(cells: &[Cell], color: bool) -> String {
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
pub(super) fn legend(used: &[Cell], canvas: &Canvas) -> Vec<String> {
    const GAP: &str = "  ";
    let head = tr!("legend");
    let head_width = width(&head);
    let mut lines = Vec::new();
    let mut line = head.clone();
    let mut visible = head_width;
    for &cell in Cell::LEGEND.iter().filter(|cell| used.contains(cell)) {
        let entry = 2 + width(&cell.meaning());
        if visible > head_width && visible + GAP.len() + entry > canvas.width {
            lines.push(std::mem::replace(&mut line, " ".repeat(head_width)));
            visible = head_width;
        }
        if visible > head_width {
            line.push_str(GAP);
            visible += GAP.len();
        }
        let _ = write!(line, "{} {}", draw(&[cell], canvas.color), cell.meaning());
        visible += entry;
    }
    lines.push(line);
    lines
}
