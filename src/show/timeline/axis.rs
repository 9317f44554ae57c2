//! The race's time mapped onto a lane's columns, and the ruler above the lanes.

use std::fmt::Write as _;

use super::cell::Cell;
use super::lane::Lane;

/// Columns per ruler tick, about: room for a label like "1500ms" and a gap.
const COLUMNS_PER_TICK: u64 = 12;

/// Maps the race's time onto the columns of a lane.
pub(super) struct Axis {
    pub(super) start: u64,
    pub(super) span: u64,
    pub(super) columns: usize,
}

impl Axis {
    pub(super) fn column(&self, t_us: u64) -> usize {
        let offset = t_us.saturating_sub(self.start);
        ((offset as u128 * self.columns as u128 / self.span as u128) as usize).min(self.columns - 1)
    }

    pub(super) fn paint(&self, lane: &Lane) -> Vec<Cell> {
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
    pub(super) fn unit(&self) -> Unit {
        Unit::for_step(self.step())
    }

    pub(super) fn ruler(&self) -> String {
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
pub(super) enum Unit {
    Micros,
    Millis,
    Seconds,
}

impl Unit {
    pub(super) fn for_step(step_us: u64) -> Unit {
        if step_us >= 1_000_000 {
            Unit::Seconds
        } else if step_us >= 1_000 {
            Unit::Millis
        } else {
            Unit::Micros
        }
    }

    /// "250ms", "1.5s", "80us": `us` in this unit, to about three significant digits.
    pub(super) fn show(self, us: u64) -> String {
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
