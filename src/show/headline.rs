//! The first two lines, printed before the race starts: what races, and what `--seed` can
//! and cannot replay.

use super::words::run_lock;
use crate::lang::tr;
use crate::settings::{Restock, Settings};

/// "10 buyers race for 3 tickets in data/data.json, lock around the whole purchase", then the
/// replay note.
pub(crate) fn headline(settings: &Settings) -> String {
    // `kept` lets a language space a count and a phrase apart differently (Chinese puts a
    // space before "3 张票" but none before "库存里现有的票").
    let (stock, kept) = match settings.restock() {
        Restock::To(t) => (tr!("count-tickets", n = t), "no"),
        Restock::Keep => (tr!("headline-stock-kept"), "yes"),
    };
    format!(
        "{}\n{}",
        tr!(
            "headline",
            buyers = tr!("count-buyers", n = settings.buyers()),
            stock = stock,
            kept = kept,
            place = settings.stock_place(),
            lock = run_lock(settings)
        ),
        replay_note(settings)
    )
}

/// What the seed replays, said where the seed is printed: the delays and the chaos plan are
/// drawn from it; which waiter the kernel wakes is not (`--schedule` is for that). A stepped
/// run has no delays: the schedule decides every move.
fn replay_note(settings: &Settings) -> String {
    if settings.schedule().is_some() {
        return tr!("headline-stepped");
    }
    let kills = settings.chaos() || !settings.kill_at().is_empty();
    tr!(
        "headline-seed",
        seed = settings.seed().unwrap_or_default().to_string(),
        delay = settings.delay().to_string(),
        kills = if kills { "yes" } else { "no" }
    )
}
