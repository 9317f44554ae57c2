//! The words every view shares, each said once: a buyer's name, sets and lists of buyers,
//! counts, times, the lock-scope and store phrases, and laying text out by display width
//! (a Chinese character takes two columns). The sentences themselves are in the catalog.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::lang::tr;
use crate::settings::{DbLock, LockScope, Method, Move, Settings, Step};

/// "buyer-3" (用户3).
pub(crate) fn buyer(n: u32) -> String {
    tr!("buyer", n = n)
}

/// "buyer-3", "buyers 1–10", "buyers 1, 3 and 5–7": runs of consecutive numbers as ranges,
/// so a list of every buyer stays short.
pub(crate) fn buyer_set(buyers: &[u32]) -> String {
    let mut sorted = buyers.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    match sorted.as_slice() {
        [] => String::new(),
        [one] => buyer(*one),
        _ => tr!("buyers", list = and_list(&ranges(&sorted))),
    }
}

/// Sorted, distinct numbers as "1–3", "5", "7–8".
fn ranges(sorted: &[u32]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        match j - i {
            0 => out.push(sorted[i].to_string()),
            1 => out.extend([sorted[i].to_string(), sorted[j].to_string()]),
            _ => out.push(format!("{}–{}", sorted[i], sorted[j])),
        }
        i = j + 1;
    }
    out
}

/// "a", "a and b", "a, b and c" (中文: "a、b 和 c").
pub(crate) fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => tr!(
            "list-and",
            init = init.join(&tr!("list-separator")),
            last = last.as_str()
        ),
    }
}

/// The first `max` items, then how many more.
pub(crate) fn abbreviate(items: &[String], max: usize) -> String {
    let separator = tr!("list-separator");
    if items.len() <= max {
        items.join(&separator)
    } else {
        tr!(
            "list-more",
            shown = items[..max].join(&separator),
            more = items.len() - max
        )
    }
}

/// "0.242s": a moment on the run's one clock, from the starting gun.
pub(crate) fn seconds(us: u64) -> String {
    format!("{:.3}s", us as f64 / 1e6)
}

/// "242 ms": a wait, rounded down.
pub(crate) fn millis(us: u64) -> String {
    tr!("millis", ms = us / 1_000)
}

/// What the lock covers, as the headline and explore say it: "lock around the write only".
pub(crate) fn lock_scope(scope: LockScope) -> String {
    match scope {
        LockScope::None => tr!("scope-none"),
        LockScope::Write => tr!("scope-write"),
        LockScope::Whole => tr!("scope-whole"),
    }
}

/// The run's lock, its kind and method included: "row lock around the whole purchase".
pub(crate) fn run_lock(settings: &Settings) -> String {
    let kind = match (settings.on_database(), settings.db_lock()) {
        (false, _) => "file",
        (true, DbLock::Row) => "row",
        (true, DbLock::Advisory) => "advisory",
    };
    match (settings.method(), settings.scope()) {
        (Method::Atomic, _) => tr!("method-atomic"),
        (Method::Serializable, _) => tr!("method-serializable"),
        (Method::ReadCheckWrite, LockScope::Whole) => tr!("lock-whole", kind = kind),
        (Method::ReadCheckWrite, LockScope::Write) => tr!("lock-write", kind = kind),
        (Method::ReadCheckWrite, LockScope::None) => tr!("scope-none"),
    }
}

/// A fault-injection step, by its command-line name and what it means.
pub(crate) fn step(step: Step) -> String {
    tr!("step", name = step.name())
}

/// A stepped move's letter and what it does: "r read the count it will decide on".
pub(crate) fn describe_move(mv: Move) -> String {
    tr!("move-describe", mv = mv.letter().to_string())
}

/// A stepped move's short name: "read".
pub(crate) fn move_name(mv: Move) -> String {
    tr!("move-name", mv = mv.letter().to_string())
}

/// What the stock and the ledger are called in this run's store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Store {
    /// `data.json` and its order log.
    File,
    /// The stock row and the orders table.
    Database,
}

impl Store {
    pub(crate) fn of(settings: &Settings) -> Store {
        if settings.on_database() {
            Store::Database
        } else {
            Store::File
        }
    }

    /// The catalog's selector for this store.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Store::File => "file",
            Store::Database => "database",
        }
    }

    /// "data file" or "stock row".
    pub(crate) fn stock(self) -> String {
        tr!("store-stock", store = self.key())
    }

    /// "order log" or "orders table".
    pub(crate) fn ledger(self) -> String {
        tr!("store-ledger", store = self.key())
    }
}

/// Columns `text` takes on a terminal.
pub(crate) fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// `text` padded with spaces to `columns` display columns (left-aligned).
pub(crate) fn pad(text: &str, columns: usize) -> String {
    format!("{text}{}", " ".repeat(columns.saturating_sub(width(text))))
}

/// `text` padded on the left to `columns` display columns (right-aligned).
pub(crate) fn pad_left(text: &str, columns: usize) -> String {
    format!("{}{text}", " ".repeat(columns.saturating_sub(width(text))))
}

/// The first `columns` display columns of `text`.
pub(crate) fn cut(text: &str, columns: usize) -> String {
    let mut used = 0;
    text.chars()
        .take_while(|c| {
            used += c.width().unwrap_or(0);
            used <= columns
        })
        .collect()
}

/// Wraps `text` to `width` columns, keeping its leading spaces; continuation lines are
/// indented by `indent`. Lines break at spaces, and between two wide (CJK) characters, where
/// Chinese breaks, but never before closing punctuation.
pub(crate) fn wrap(text: &str, width: usize, indent: usize) -> String {
    let body = text.trim_start_matches(' ');
    let mut lines: Vec<String> = Vec::new();
    let mut line = text[..text.len() - body.len()].to_string();
    let mut used = self::width(&line);
    let mut fresh = true;
    for (joiner, word) in pieces(body) {
        let needed = self::width(joiner) + self::width(word);
        if !fresh && used + needed > width {
            lines.push(std::mem::replace(&mut line, " ".repeat(indent)));
            used = indent;
            fresh = true;
        }
        if !fresh {
            line.push_str(joiner);
            used += self::width(joiner);
        }
        line.push_str(word);
        used += self::width(word);
        fresh = false;
    }
    lines.push(line);
    lines.join("\n")
}

/// The unbreakable pieces of `text`, each with what joins it to the one before (" " or "").
fn pieces(text: &str) -> Vec<(&'static str, &str)> {
    let mut out = Vec::new();
    for (i, word) in text.split(' ').enumerate() {
        let mut joiner = if i == 0 { "" } else { " " };
        let mut start = 0;
        let chars: Vec<(usize, char)> = word.char_indices().collect();
        for (k, &(at, c)) in chars.iter().enumerate().skip(1) {
            let before = chars[k - 1].1;
            if wide(before) && wide(c) && !closing(c) && !opening(before) {
                out.push((joiner, &word[start..at]));
                joiner = "";
                start = at;
            }
        }
        out.push((joiner, &word[start..]));
    }
    out
}

fn wide(c: char) -> bool {
    c.width() == Some(2)
}

fn closing(c: char) -> bool {
    "，。；：、！？）」』》".contains(c)
}

fn opening(c: char) -> bool {
    "（「『《".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buyer_sets_are_ranges() {
        assert_eq!(buyer_set(&[3]), "buyer-3");
        assert_eq!(buyer_set(&[2, 3, 4, 5, 6, 7, 8, 9, 10]), "buyers 2–10");
        assert_eq!(buyer_set(&[7, 1, 5, 6, 3]), "buyers 1, 3 and 5–7");
        assert_eq!(buyer_set(&[1, 2]), "buyers 1 and 2");
    }

    #[test]
    fn long_sentences_wrap_with_a_hanging_indent() {
        let text = wrap("  Why: one two three four five six", 17, 7);
        assert_eq!(text, "  Why: one two\n       three four\n       five six");
    }

    #[test]
    fn chinese_wraps_between_characters_by_display_width() {
        let text = wrap("  原因：用户2读到余票3，用户4也读到3", 16, 8);
        for line in text.lines() {
            assert!(width(line) <= 16, "{text}");
        }
        assert!(!text.contains("\n        ，"), "{text}");
        assert_eq!(
            text.replace(['\n', ' '], ""),
            "原因：用户2读到余票3，用户4也读到3"
        );
    }

    #[test]
    fn padding_counts_columns_not_characters() {
        assert_eq!(pad("用户3", 8), "用户3   ");
        assert_eq!(width(&pad_left("余票", 6)), 6);
        assert_eq!(cut("用户10号", 5), "用户1");
    }
}
