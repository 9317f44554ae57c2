//! What a disk holds after a power cut: the directory's names and each file's bytes, built by
//! applying the record's steps with the fate a model chose for each one.

use std::collections::BTreeMap;

use serde::Serialize;

use super::trace::{Change, DirOp, File, Ino};

/// The smallest unit a disk writes whole: a write can be torn only at a multiple of it (4096-
/// byte blocks are multiples too, so tearing at sectors covers tearing at blocks).
pub(crate) const SECTOR: u64 = 512;

/// What became of one unsynced operation when the power went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "fate", rename_all = "snake_case")]
pub(crate) enum Fate {
    /// It reached the disk as made.
    Kept,
    /// Nothing of it reached the disk.
    Lost,
    /// Its first `kept` bytes reached the disk (up to a sector boundary) and the file's new
    /// size, but not the rest, which reads as zeros.
    Torn { kept: u64 },
    /// The file's new size reached the disk but none of the bytes: zeros where it grew.
    Zeroed,
}

/// The directory and its files, as a disk holds them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Image {
    names: BTreeMap<String, Ino>,
    files: Vec<Vec<u8>>,
}

/// A directory operation that cannot reach the disk without one it depends on (an exchange
/// whose temp file's name never did): no disk holds such a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Impossible;

impl Image {
    /// The disk as it was before the race: `initial`'s files, file `i` the `i`-th.
    pub(crate) fn holding(initial: &[File]) -> Image {
        Image {
            names: initial
                .iter()
                .enumerate()
                .map(|(ino, (name, _))| (name.clone(), ino))
                .collect(),
            files: initial.iter().map(|(_, bytes)| bytes.clone()).collect(),
        }
    }

    /// Applies a change to file `ino`'s contents, as `fate` says.
    pub(crate) fn change(&mut self, ino: Ino, change: &Change, fate: Fate) {
        if self.files.len() <= ino {
            self.files.resize(ino + 1, Vec::new());
        }
        let file = &mut self.files[ino];
        match (change, fate) {
            (_, Fate::Lost) => {}
            (Change::Truncate { len }, _) => file.resize(*len as usize, 0),
            (Change::Write { offset, bytes }, _) => {
                let (offset, end) = (*offset as usize, *offset as usize + bytes.len());
                let kept = match fate {
                    Fate::Kept => bytes.len(),
                    Fate::Torn { kept } => kept as usize,
                    Fate::Zeroed | Fate::Lost => 0,
                };
                if file.len() < end {
                    file.resize(end, 0);
                }
                file[offset..offset + kept].copy_from_slice(&bytes[..kept]);
            }
        }
    }

    /// Applies a directory operation, or says it could not have reached the disk.
    pub(crate) fn rename(&mut self, op: &DirOp) -> Result<(), Impossible> {
        match op {
            DirOp::Link { name, ino } => {
                if self.files.len() <= *ino {
                    self.files.resize(ino + 1, Vec::new());
                }
                self.names.insert(name.clone(), *ino);
            }
            DirOp::Rename { from, to, .. } => {
                let ino = self.names.remove(from).ok_or(Impossible)?;
                self.names.insert(to.clone(), ino);
            }
            DirOp::Exchange { a, b } => {
                let ia = *self.names.get(a).ok_or(Impossible)?;
                let ib = *self.names.get(b).ok_or(Impossible)?;
                self.names.insert(a.clone(), ib);
                self.names.insert(b.clone(), ia);
            }
            DirOp::Unlink { name } => {
                self.names.remove(name).ok_or(Impossible)?;
            }
        }
        Ok(())
    }

    /// Every name with its bytes, in name order: what a copy of this disk holds.
    pub(crate) fn files(&self) -> Vec<(String, Vec<u8>)> {
        self.names
            .iter()
            .map(|(name, &ino)| (name.clone(), self.files[ino].clone()))
            .collect()
    }

    /// The bytes `name` holds, if the name exists.
    #[cfg(test)]
    pub(crate) fn get(&self, name: &str) -> Option<&[u8]> {
        self.names.get(name).map(|&ino| self.files[ino].as_slice())
    }
}

/// Every fate a model may give a change other than being kept whole or lost: torn at each
/// sector boundary inside it, and zero-filled where it made the file grow. `size` is the
/// file's size before the change (as the program saw it).
pub(crate) fn partial_fates(change: &Change, size: u64) -> Vec<Fate> {
    let Change::Write { offset, bytes } = change else {
        return Vec::new();
    };
    let end = offset + bytes.len() as u64;
    let mut fates: Vec<Fate> = (offset / SECTOR + 1..)
        .map(|n| n * SECTOR)
        .take_while(|&boundary| boundary < end)
        .map(|boundary| Fate::Torn {
            kept: boundary - offset,
        })
        .collect();
    if end > size {
        fates.push(Fate::Zeroed);
    }
    fates
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_across_a_sector_boundary_can_be_torn_there() {
        let change = Change::Write {
            offset: 480,
            bytes: vec![b'x'; 160],
        };
        assert_eq!(
            partial_fates(&change, 480),
            [Fate::Torn { kept: 32 }, Fate::Zeroed]
        );
        let mut image = Image::default();
        image
            .rename(&DirOp::Link {
                name: "log".into(),
                ino: 0,
            })
            .unwrap();
        image.change(0, &change, Fate::Torn { kept: 32 });
        let log = image.get("log").unwrap();
        assert_eq!(log.len(), 640);
        assert!(log[480..512].iter().all(|&b| b == b'x'));
        assert!(log[512..].iter().all(|&b| b == 0));
    }

    #[test]
    fn an_overwrite_inside_the_file_cannot_be_zero_filled() {
        let change = Change::Write {
            offset: 0,
            bytes: vec![1; 10],
        };
        assert!(partial_fates(&change, 100).is_empty());
    }

    #[test]
    fn an_exchange_needs_both_names_on_disk() {
        let mut image = Image::default();
        let exchange = DirOp::Exchange {
            a: "tmp".into(),
            b: "data".into(),
        };
        assert_eq!(image.rename(&exchange), Err(Impossible));
    }
}
