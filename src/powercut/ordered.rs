//! The ordered model's crash states (ext4's default, data=ordered with delayed allocation):
//! names and sizes go through one journal, in order, and any fsync commits all of it; a
//! file's data is flushed in order, whole writes, when that file is synced, or before a
//! rename that replaces a file commits (auto_da_alloc); an exchange has no such rule.

use super::disk::{Fate, Image};
use super::states::{Counts, CrashState, emit, last, split, synced_image};
use super::trace::{Change, DirOp, Effect, Ino, Step};

/// Whether the step is a journal entry of the ordered model: a name or a size.
fn is_metadata(effect: &Effect) -> bool {
    matches!(
        effect,
        Effect::Dir(_)
            | Effect::Content {
                change: Change::Truncate { .. },
                ..
            }
    )
}

/// Every crash state the ordered model allows after `steps`, from the disk `before` them.
pub(super) fn states(
    steps: &[Step],
    before: &Image,
    counts: &mut Counts,
    visit: &mut dyn FnMut(CrashState),
) {
    let committed = last(steps, |e| {
        matches!(e, Effect::SyncFile(_) | Effect::SyncDir)
    });
    let (safe, pending) = split(steps, |i, effect| {
        if is_metadata(effect) {
            return committed.is_some_and(|c| i < c);
        }
        let Effect::Content { ino, .. } = effect else {
            return false;
        };
        let synced = last(steps, |e| *e == Effect::SyncFile(*ino)).is_some_and(|s| i < s);
        // A committed rename over a file flushed the renamed file's data first.
        let flushed = steps.iter().enumerate().any(|(r, s)| {
            committed.is_some_and(|c| r < c) && r > i && replaces_with(&s.effect, *ino)
        });
        synced || flushed
    });
    let Some(base) = synced_image(steps, before, &safe) else {
        return;
    };
    let journal: Vec<usize> = pending
        .iter()
        .copied()
        .filter(|&i| is_metadata(&steps[i].effect))
        .collect();
    let writes = writes_by_file(steps, &pending);
    for m in 0..=journal.len() {
        let committed_now = &journal[..m];
        // Each file's writes reach the disk in order: at least those a committed rename
        // flushed, at most all of them.
        let least: Vec<usize> = writes
            .iter()
            .map(|(ino, list)| {
                let last_rename = committed_now
                    .iter()
                    .filter(|&&r| replaces_with(&steps[r].effect, *ino))
                    .max();
                last_rename.map_or(0, |&r| list.iter().filter(|&&w| w < r).count())
            })
            .collect();
        let mut counts_of: Vec<usize> = least.clone();
        loop {
            let mut chosen: Vec<(usize, Fate)> =
                committed_now.iter().map(|&i| (i, Fate::Kept)).collect();
            for ((_, list), &n) in writes.iter().zip(&counts_of) {
                chosen.extend(list[..n].iter().map(|&i| (i, Fate::Kept)));
            }
            emit(steps, &base, &pending, &chosen, counts, visit);
            // The next combination of per-file counts, like an odometer.
            let mut digit = 0;
            loop {
                if digit == writes.len() {
                    break;
                }
                if counts_of[digit] < writes[digit].1.len() {
                    counts_of[digit] += 1;
                    break;
                }
                counts_of[digit] = least[digit];
                digit += 1;
            }
            if digit == writes.len() {
                break;
            }
        }
    }
}

/// The pending data writes, grouped by file, each file's in the record's order.
fn writes_by_file(steps: &[Step], pending: &[usize]) -> Vec<(Ino, Vec<usize>)> {
    let mut writes: Vec<(Ino, Vec<usize>)> = Vec::new();
    for &i in pending.iter().filter(|&&i| !is_metadata(&steps[i].effect)) {
        let Effect::Content { ino, .. } = steps[i].effect else {
            continue;
        };
        match writes.iter_mut().find(|(f, _)| *f == ino) {
            Some((_, list)) => list.push(i),
            None => writes.push((ino, vec![i])),
        }
    }
    writes
}

/// Whether `effect` is a rename over an existing file that moves file `ino`.
fn replaces_with(effect: &Effect, ino: Ino) -> bool {
    matches!(effect, Effect::Dir(DirOp::Rename { ino: moved, replaced: true, .. }) if *moved == ino)
}
