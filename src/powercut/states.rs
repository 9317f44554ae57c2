//! Every crash state a persistence model allows at every point of a record (ALICE's idea:
//! Pillai et al., OSDI 2014). A power cut after step `cut` leaves what was synced, plus some
//! of what was not: which of it, each model says.
//!
//! - Weak: a file's changes are safe once the file is synced, the directory's names once the
//!   directory is. Anything unsynced may be kept, lost, torn at a sector boundary, or
//!   zero-filled where the file grew, in any order. Every order is too many, so the bound: an
//!   in-order run of the unsynced steps is kept, and at most [`REORDER_BOUND`] of the later
//!   ones reach the disk ahead of the ones before them (kept, torn or zero-filled).
//! - Ordered (ext4's default, data=ordered with delayed allocation): names and sizes go
//!   through one journal, in order, and any fsync commits all of it; a file's data is flushed
//!   in order, whole writes, when that file is synced, or before a rename that replaces a file
//!   commits (auto_da_alloc); an exchange has no such rule. Enumerated in full (`ordered`).

use serde::Serialize;

use super::disk::{Fate, Image, partial_fates};
use super::ordered;
use super::trace::{Change, Effect, Record, Step};
use crate::settings::Persistence;

/// At most this many unsynced steps reach the disk out of order in one weak crash state.
pub(crate) const REORDER_BOUND: usize = 2;

/// One crash state as a model built it: the steps before the cut, the fate of each unsynced
/// one (the synced ones are all kept), and the disk that results.
pub(crate) struct CrashState<'a> {
    pub cut: usize,
    pub fates: &'a [(usize, Fate)],
    pub image: &'a Image,
}

/// How many crash states a model built, and at how many points.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Counts {
    pub cut_points: u64,
    pub states: u64,
    /// States no disk could hold (an exchange reached the disk before its file's name did).
    pub impossible: u64,
    /// States in which a write was torn at a sector boundary.
    pub torn: u64,
    /// States in which a file's new size reached the disk and its bytes did not.
    pub zero_filled: u64,
    /// States in which an operation reached the disk after an earlier unsynced one was lost.
    pub reordered: u64,
}

impl Counts {
    /// Counts one state built with these fates (in the record's order).
    fn add(&mut self, fates: &[(usize, Fate)]) {
        self.states += 1;
        let has = |wanted: fn(&Fate) -> bool| fates.iter().any(|(_, f)| wanted(f));
        self.torn += u64::from(has(|f| matches!(f, Fate::Torn { .. })));
        self.zero_filled += u64::from(has(|f| *f == Fate::Zeroed));
        let first_lost = fates.iter().position(|(_, f)| *f == Fate::Lost);
        let reached_after =
            first_lost.is_some_and(|l| fates[l..].iter().any(|(_, f)| *f != Fate::Lost));
        self.reordered += u64::from(reached_after);
    }
}

/// Builds every crash state `model` allows after every prefix of the record's steps, handing
/// each to `visit`; returns the counts.
pub(crate) fn build(
    record: &Record,
    model: Persistence,
    visit: &mut dyn FnMut(CrashState),
) -> Counts {
    let steps = &record.steps;
    let sizes = sizes_before(record);
    let before = Image::holding(&record.initial);
    let mut counts = Counts::default();
    for cut in 0..=steps.len() {
        counts.cut_points += 1;
        let cut_steps = &steps[..cut];
        match model {
            Persistence::Weak => weak(cut_steps, &before, &sizes, &mut counts, visit),
            Persistence::Ordered => ordered::states(cut_steps, &before, &mut counts, visit),
        }
    }
    counts
}

/// The size of each step's file just before it (0 for steps that change no contents).
fn sizes_before(record: &Record) -> Vec<u64> {
    let steps = &record.steps;
    let mut sizes: Vec<u64> = record.initial.iter().map(|(_, b)| b.len() as u64).collect();
    let mut before = Vec::with_capacity(steps.len());
    for step in steps {
        let Effect::Content { ino, change } = &step.effect else {
            before.push(0);
            continue;
        };
        if sizes.len() <= *ino {
            sizes.resize(ino + 1, 0);
        }
        before.push(sizes[*ino]);
        sizes[*ino] = match change {
            Change::Write { offset, bytes } => sizes[*ino].max(offset + bytes.len() as u64),
            Change::Truncate { len } => *len,
        };
    }
    before
}

/// The index of the last step before the cut that syncs what `syncs` says, if any.
pub(super) fn last(steps: &[Step], syncs: impl Fn(&Effect) -> bool) -> Option<usize> {
    steps.iter().rposition(|s| syncs(&s.effect))
}

/// The steps before the cut that change something, split into synced (safe) and not.
pub(super) fn split(
    steps: &[Step],
    safe: impl Fn(usize, &Effect) -> bool,
) -> (Vec<usize>, Vec<usize>) {
    let changes = steps
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s.effect, Effect::Content { .. } | Effect::Dir(_)));
    let (safe, pending): (Vec<_>, Vec<_>) = changes.partition(|(i, s)| safe(*i, &s.effect));
    (
        safe.into_iter().map(|(i, _)| i).collect(),
        pending.into_iter().map(|(i, _)| i).collect(),
    )
}

/// Applies `step` to `image` with `fate`; Err when no disk could hold the result.
fn apply(image: &mut Image, step: &Step, fate: Fate) -> Result<(), super::disk::Impossible> {
    match (&step.effect, fate) {
        (Effect::Content { ino, change }, _) => image.change(*ino, change, fate),
        (Effect::Dir(_), Fate::Lost) => {}
        (Effect::Dir(op), _) => image.rename(op)?,
        _ => {}
    }
    Ok(())
}

/// The disk before the race with every synced step of the cut applied.
pub(super) fn synced_image(steps: &[Step], before: &Image, safe: &[usize]) -> Option<Image> {
    let mut image = before.clone();
    for &i in safe {
        apply(&mut image, &steps[i], Fate::Kept).ok()?;
    }
    Some(image)
}

/// Hands one state to `visit`: `chosen` are the unsynced steps that reach the disk, in order.
pub(super) fn emit(
    steps: &[Step],
    base: &Image,
    pending: &[usize],
    chosen: &[(usize, Fate)],
    counts: &mut Counts,
    visit: &mut dyn FnMut(CrashState),
) {
    let mut image = base.clone();
    let mut fates = Vec::with_capacity(pending.len());
    for &i in pending {
        let fate = chosen
            .iter()
            .find(|(c, _)| *c == i)
            .map_or(Fate::Lost, |(_, f)| *f);
        if apply(&mut image, &steps[i], fate).is_err() {
            counts.impossible += 1;
            return;
        }
        fates.push((i, fate));
    }
    counts.add(&fates);
    visit(CrashState {
        cut: steps.len(),
        fates: &fates,
        image: &image,
    });
}

fn weak(
    steps: &[Step],
    before: &Image,
    sizes: &[u64],
    counts: &mut Counts,
    visit: &mut dyn FnMut(CrashState),
) {
    let dir_synced = last(steps, |e| matches!(e, Effect::SyncDir));
    let (safe, pending) = split(steps, |i, effect| match effect {
        Effect::Content { ino, .. } => {
            last(steps, |e| *e == Effect::SyncFile(*ino)).is_some_and(|s| i < s)
        }
        _ => dir_synced.is_some_and(|s| i < s),
    });
    let Some(base) = synced_image(steps, before, &safe) else {
        return;
    };
    let out_of_order = |i: usize| -> Vec<Fate> {
        let mut fates = vec![Fate::Kept];
        if let Effect::Content { change, .. } = &steps[i].effect {
            fates.extend(partial_fates(change, sizes[i]));
        }
        fates
    };
    for kept in 0..=pending.len() {
        let prefix: Vec<(usize, Fate)> = pending[..kept].iter().map(|&i| (i, Fate::Kept)).collect();
        let rest = &pending[kept..];
        // The first step after the kept run is not kept whole (that state has a longer run),
        // but may be torn or zeroed; the ones after it may reach the disk in any fate.
        let fates_at = |pos: usize| {
            let mut fates = out_of_order(rest[pos]);
            if pos == 0 {
                fates.retain(|f| *f != Fate::Kept);
            }
            fates
        };
        let mut chosen = prefix;
        emit(steps, &base, &pending, &chosen, counts, visit);
        for a in 0..rest.len() {
            for fa in fates_at(a) {
                chosen.truncate(kept);
                chosen.push((rest[a], fa));
                emit(steps, &base, &pending, &chosen, counts, visit);
                // The second of the REORDER_BOUND steps that may jump the queue.
                for (b, &step) in rest.iter().enumerate().skip(a + 1) {
                    for fb in fates_at(b) {
                        chosen.truncate(kept + 1);
                        chosen.push((step, fb));
                        emit(steps, &base, &pending, &chosen, counts, visit);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::powercut::trace::resolve;
    use crate::sys::record::{Op, Recorded, hex};

    fn record(ops: Vec<Op>) -> Record {
        let lines = ops.into_iter().map(|op| Recorded { pid: 1, op }).collect();
        Record {
            initial: Vec::new(),
            steps: resolve(&[], lines).unwrap(),
        }
    }

    fn create(name: &str) -> Op {
        Op::Create { name: name.into() }
    }

    fn append(name: &str, bytes: &[u8]) -> Op {
        Op::Append {
            name: name.into(),
            bytes: hex(bytes),
        }
    }

    fn sync(name: &str) -> Op {
        Op::SyncFile { name: name.into() }
    }

    /// Every distinct disk (as name → bytes) the model allows at the end of the record.
    fn disks_at_end(record: &Record, model: Persistence) -> Vec<Vec<(String, Vec<u8>)>> {
        let mut disks = Vec::new();
        build(record, model, &mut |state| {
            if state.cut == record.steps.len() && !disks.contains(&state.image.files()) {
                disks.push(state.image.files());
            }
        });
        disks
    }

    #[test]
    fn a_synced_append_in_a_synced_directory_always_survives() {
        let steps = record(vec![
            create("log"),
            Op::SyncDir,
            append("log", b"a"),
            sync("log"),
        ]);
        for model in [Persistence::Weak, Persistence::Ordered] {
            let disks = disks_at_end(&steps, model);
            assert_eq!(
                disks,
                [vec![("log".to_string(), b"a".to_vec())]],
                "{model:?}"
            );
        }
    }

    #[test]
    fn an_unsynced_append_may_be_kept_lost_or_zero_filled_in_the_weak_model_only() {
        let steps = record(vec![create("log"), Op::SyncDir, append("log", b"ab")]);
        let weak = disks_at_end(&steps, Persistence::Weak);
        let logs: Vec<&[u8]> = weak.iter().map(|d| d[0].1.as_slice()).collect();
        assert_eq!(logs, [&b""[..], &[0, 0][..], &b"ab"[..]]);
        let ordered = disks_at_end(&steps, Persistence::Ordered);
        let logs: Vec<&[u8]> = ordered.iter().map(|d| d[0].1.as_slice()).collect();
        assert_eq!(logs, [&b""[..], &b"ab"[..]]);
    }

    #[test]
    fn an_fsynced_file_without_a_directory_sync_may_vanish_unless_a_journal_commits_it() {
        let steps = record(vec![create("log"), append("log", b"a"), sync("log")]);
        let weak = disks_at_end(&steps, Persistence::Weak);
        assert!(weak.contains(&vec![]), "{weak:?}");
        // ext4's fsync commits the journal, and the name with it.
        let ordered = disks_at_end(&steps, Persistence::Ordered);
        assert_eq!(ordered, [vec![("log".to_string(), b"a".to_vec())]]);
    }

    #[test]
    fn an_exchange_may_reach_the_disk_before_the_data_of_the_file_it_swaps_in() {
        let steps = record(vec![
            create("data"),
            create("tmp"),
            Op::SyncDir,
            Op::Write {
                name: "tmp".into(),
                offset: 0,
                bytes: hex(b"new"),
            },
            Op::Exchange {
                a: "tmp".into(),
                b: "data".into(),
            },
            create("log"),
            sync("log"),
        ]);
        for model in [Persistence::Weak, Persistence::Ordered] {
            let disks = disks_at_end(&steps, model);
            let empty_after_swap = disks.iter().any(|d| {
                d.contains(&("data".to_string(), Vec::new()))
                    && d.contains(&("tmp".to_string(), Vec::new()))
                    && d.iter().any(|(n, _)| n == "log")
            });
            assert!(empty_after_swap, "{model:?}: {disks:?}");
        }
    }

    #[test]
    fn a_rename_over_a_file_flushes_its_data_first_in_the_ordered_model() {
        let steps = record(vec![
            create("data"),
            create("tmp"),
            Op::SyncDir,
            Op::Write {
                name: "tmp".into(),
                offset: 0,
                bytes: hex(b"new"),
            },
            Op::Rename {
                from: "tmp".into(),
                to: "data".into(),
            },
            Op::SyncDir,
        ]);
        let ordered = disks_at_end(&steps, Persistence::Ordered);
        assert_eq!(ordered, [vec![("data".to_string(), b"new".to_vec())]]);
        let weak = disks_at_end(&steps, Persistence::Weak);
        assert!(weak.contains(&vec![("data".to_string(), Vec::new())]));
    }

    #[test]
    fn a_later_append_may_reach_the_disk_before_an_earlier_one_in_the_weak_model() {
        let first = vec![b'a'; 512];
        let steps = record(vec![
            create("log"),
            Op::SyncDir,
            append("log", &first),
            append("log", b"b"),
        ]);
        let weak = disks_at_end(&steps, Persistence::Weak);
        let mut hole = vec![0u8; 512];
        hole.push(b'b');
        assert!(weak.contains(&vec![("log".to_string(), hole)]));
        // The 512-byte append ends at the sector boundary, not across it: never torn.
        let counts = build(&steps, Persistence::Weak, &mut |_| {});
        assert!(counts.reordered > 0, "{counts:?}");
        assert!(counts.zero_filled > 0, "{counts:?}");
        assert_eq!(counts.torn, 0, "{counts:?}");
    }

    #[test]
    fn an_entry_across_a_sector_boundary_of_a_log_there_before_the_race_is_torn_there() {
        let lines = vec![Recorded {
            pid: 1,
            op: append("log", &[b'e'; 160]),
        }];
        let initial = vec![("log".to_string(), vec![b'o'; 480])];
        let record = Record {
            steps: resolve(&initial, lines).unwrap(),
            initial,
        };
        let counts = build(&record, Persistence::Weak, &mut |_| {});
        assert_eq!(counts.torn, 1, "{counts:?}");
        let mut torn = vec![b'o'; 480];
        torn.extend([b'e'; 32]);
        torn.extend([0; 128]);
        let weak = disks_at_end(&record, Persistence::Weak);
        assert!(weak.contains(&vec![("log".to_string(), torn)]), "{weak:?}");
        // The ordered model writes data whole: the old log, or the old log and the entry.
        assert_eq!(disks_at_end(&record, Persistence::Ordered).len(), 2);
    }
}
