//! Partial-order reduction: which moves of different buyers cannot affect each other, so that
//! running them in both orders would run the same race twice. Two schedules that differ only
//! by swapping such moves are one race; `explore` runs one schedule of each.

use std::collections::HashMap;

use crate::settings::{LockScope, Move, Turn};

/// Whether the order of `a` and `b` can change the race. Moves of one buyer keep their order;
/// a write matters to every search, read and write of the data file; moves on or under the lock
/// are ordered by it. Everything else (two searches, a search and a read, a read and a lock
/// request) commutes: either order leaves every buyer and every file the same.
pub(crate) fn dependent(a: Turn, b: Turn, scope: LockScope) -> bool {
    a.buyer == b.buyer
        || (on_the_lock(a.mv, scope) && on_the_lock(b.mv, scope))
        || (a.mv == Move::Write && b.mv != Move::Lock && b.mv != Move::Unlock)
        || (b.mv == Move::Write && a.mv != Move::Lock && a.mv != Move::Unlock)
}

/// Moves that take or release the lock, or are made holding it. Two of them by different
/// buyers are always ordered by the lock itself, and a buyer's first move after waiting is
/// possible only after the holder's unlock.
fn on_the_lock(mv: Move, scope: LockScope) -> bool {
    match mv {
        Move::Lock | Move::Unlock => true,
        Move::Read => match scope {
            LockScope::Whole => true,
            LockScope::Write | LockScope::None => false,
        },
        Move::Write => match scope {
            LockScope::Write | LockScope::Whole => true,
            LockScope::None => false,
        },
        Move::Search => false,
    }
}

/// Whether `next` may follow `taken` in the one schedule of each race that `explore` runs: the
/// least in buyer order, which makes each move as early as the moves it depends on allow. It
/// may not if it could swap places with a move of a higher-numbered buyer that it does not
/// depend on.
pub(crate) fn keeps_normal_form(taken: &[Turn], next: Turn, scope: LockScope) -> bool {
    for &earlier in taken.iter().rev() {
        if dependent(earlier, next, scope) {
            return true;
        }
        if earlier.buyer > next.buyer {
            return false;
        }
    }
    true
}

/// How many schedules are the same race as `schedule`, itself included: the orders of its
/// moves that keep every dependent pair as it is. Counted over "how many moves of each buyer
/// are placed", since a buyer's own moves keep their order.
pub(crate) fn equivalent_orders(schedule: &[Turn], scope: LockScope) -> u64 {
    let buyers = schedule.iter().map(|t| t.buyer).max().unwrap_or(0) as usize;
    // For each move: its buyer's index, and for every buyer how many of its moves must be
    // placed before it (its dependent predecessors, the latest of each buyer).
    let mut rank = vec![0usize; buyers];
    let mut moves: Vec<(usize, Vec<usize>)> = Vec::with_capacity(schedule.len());
    for (j, &turn) in schedule.iter().enumerate() {
        let mut needs = vec![0usize; buyers];
        let mut seen = vec![0usize; buyers];
        for &earlier in &schedule[..j] {
            let b = earlier.buyer as usize - 1;
            seen[b] += 1;
            if dependent(earlier, turn, scope) {
                needs[b] = seen[b];
            }
        }
        let b = turn.buyer as usize - 1;
        rank[b] += 1;
        moves.push((b, needs));
    }
    // chains[b] lists buyer b's moves (indices into `moves`) in order.
    let mut chains: Vec<Vec<usize>> = vec![Vec::new(); buyers];
    for (j, (b, _)) in moves.iter().enumerate() {
        chains[*b].push(j);
    }
    let mut memo = HashMap::new();
    count_orders(&mut vec![0; buyers], &chains, &moves, &mut memo)
}

fn count_orders(
    placed: &mut Vec<usize>,
    chains: &[Vec<usize>],
    moves: &[(usize, Vec<usize>)],
    memo: &mut HashMap<Vec<usize>, u64>,
) -> u64 {
    if placed
        .iter()
        .zip(chains)
        .all(|(p, chain)| *p == chain.len())
    {
        return 1;
    }
    if let Some(&known) = memo.get(placed) {
        return known;
    }
    let mut total: u64 = 0;
    for b in 0..chains.len() {
        let Some(&j) = chains[b].get(placed[b]) else {
            continue;
        };
        if moves[j]
            .1
            .iter()
            .zip(placed.iter())
            .all(|(need, p)| p >= need)
        {
            placed[b] += 1;
            total = total.saturating_add(count_orders(placed, chains, moves, memo));
            placed[b] -= 1;
        }
    }
    memo.insert(placed.clone(), total);
    total
}

/// The schedule `explore` would run for the race `schedule` is: two schedules are the same
/// race exactly when their normal forms are equal.
pub(crate) fn normal_form(schedule: &[Turn], scope: LockScope) -> Vec<Turn> {
    let mut placed = vec![false; schedule.len()];
    let mut out = Vec::with_capacity(schedule.len());
    while out.len() < schedule.len() {
        // The lowest-numbered buyer whose next move has all its dependent predecessors placed.
        let next = (0..schedule.len())
            .filter(|&j| !placed[j])
            .filter(|&j| (0..j).all(|i| placed[i] || !dependent(schedule[i], schedule[j], scope)))
            .min_by_key(|&j| schedule[j].buyer)
            .expect("a schedule's moves always leave one that can go first");
        placed[next] = true;
        out.push(schedule[next]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Schedule;

    fn turns(text: &str) -> Vec<Turn> {
        text.parse::<Schedule>().unwrap().0
    }

    #[test]
    fn searches_and_reads_commute_but_a_write_does_not() {
        let none = LockScope::None;
        let t = |text: &str| turns(text)[0];
        assert!(!dependent(t("1s"), t("2s"), none));
        assert!(!dependent(t("1s"), t("2r"), none));
        assert!(dependent(t("1w"), t("2r"), none));
        assert!(dependent(t("1w"), t("2w"), none));
        assert!(dependent(t("1s"), t("1r"), none));
        let whole = LockScope::Whole;
        assert!(
            dependent(t("1u"), t("2r"), whole),
            "2 reads after taking 1's lock"
        );
        assert!(!dependent(t("1l"), t("2s"), whole));
        assert!(!dependent(t("1r"), t("2s"), whole));
    }

    #[test]
    fn two_buyers_without_a_lock_have_twenty_orders_in_six_races() {
        // Each buyer: s r w. All interleavings of two chains of three: 6!/(3!3!) = 20.
        let schedules = ["1s 1r 1w 2s 2r", "1s 2s 1r 2r 1w 2w"];
        // Buyer 2 searched after buyer 1's write: nothing can move.
        assert_eq!(equivalent_orders(&turns(schedules[0]), LockScope::None), 1);
        let both = turns(schedules[1]);
        // 1s 2s 1r 2r commute freely (4!/(2!2!) = 6 orders), then 1w, 2w in order.
        assert_eq!(equivalent_orders(&both, LockScope::None), 6);
        assert_eq!(
            Schedule(normal_form(&both, LockScope::None)).to_string(),
            "1s 1r 2s 2r 1w 2w"
        );
    }

    #[test]
    fn only_the_normal_form_keeps_normal_form_at_every_step() {
        let scope = LockScope::None;
        let keeps = |text: &str| {
            let t = turns(text);
            (0..t.len()).all(|i| keeps_normal_form(&t[..i], t[i], scope))
        };
        assert!(keeps("1s 1r 2s 2r 1w 2w"));
        assert!(!keeps("1s 2s 1r 2r 1w 2w"));
        assert!(keeps("2s 2r 2w 1s 1r"));
    }
}
