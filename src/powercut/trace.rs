//! A race's record read back (`sys::record`'s lines) and resolved from names to files: which
//! file each write lands in and at which offset, what each directory operation does to which
//! name, starting from the files the directory held (on disk, synced) when the race began.
//! The crash states are built from this.

use crate::safe_text::OneLine;
use std::collections::HashMap;
use std::path::Path;

use crate::exit::{Error, Result};
use crate::lang::tr;
use crate::sys::record::{Op, Recorded, unhex};

/// A file, by the order in which the record created it (an inode number of our own).
pub(crate) type Ino = usize;

/// What one recorded operation does, in terms the persistence models reason about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    /// The contents of file `ino` change.
    Content { ino: Ino, change: Change },
    /// A name in the directory changes.
    Dir(DirOp),
    /// The file's data (and size) is flushed.
    SyncFile(Ino),
    /// The directory's entries are flushed.
    SyncDir,
    /// A buyer confirmed a sale: from here on it must survive.
    Confirmed { buyer: u32, seq: u64 },
}

/// A change to a file's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// `bytes` written at `offset` (an append is resolved to the offset it landed at).
    Write { offset: u64, bytes: Vec<u8> },
    /// The size set to `len`.
    Truncate { len: u64 },
}

/// A change to the directory's names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DirOp {
    /// `name` is created for the new file `ino`.
    Link {
        name: String,
        ino: Ino,
    },
    /// `to` names what `from` named (file `ino`); `replaced` tells whether `to` named a
    /// file before.
    Rename {
        from: String,
        to: String,
        ino: Ino,
        replaced: bool,
    },
    Exchange {
        a: String,
        b: String,
    },
    Unlink {
        name: String,
    },
}

/// One step of the record: who made it, the operation as recorded, what it does.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub pid: u32,
    pub op: Op,
    pub effect: Effect,
}

/// A file as the directory held it before the race: its name and bytes.
pub(crate) type File = (String, Vec<u8>);

/// One recorded race: the files on disk before it (files `0..initial.len()`) and its steps.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub initial: Vec<File>,
    pub steps: Vec<Step>,
}

/// Reads the record file a race wrote, in a directory that held `initial` when it began.
pub(crate) fn read(path: &Path, initial: Vec<File>) -> Result<Record> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::io("read power-cut record", path, &e))?;
    let mut lines = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let recorded: Recorded = serde_json::from_str(line).map_err(|e| {
            Error::environment(tr!(
                "error-record-unparsed",
                path = path.one_line(),
                line = (number + 1).to_string(),
                error = e.to_string()
            ))
        })?;
        lines.push(recorded);
    }
    let steps = resolve(&initial, lines).map_err(|why| {
        Error::environment(tr!(
            "error-record-inconsistent",
            path = path.one_line(),
            why = why
        ))
    })?;
    Ok(Record { initial, steps })
}

/// Follows the names through the record, from a directory holding `initial`.
pub(crate) fn resolve(
    initial: &[File],
    lines: Vec<Recorded>,
) -> std::result::Result<Vec<Step>, String> {
    let mut directory = Namespace::default();
    for (ino, (name, bytes)) in initial.iter().enumerate() {
        directory.names.insert(name.clone(), ino);
        directory.sizes.push(bytes.len() as u64);
    }
    let mut steps = Vec::with_capacity(lines.len());
    for Recorded { pid, op } in lines {
        let effect = directory.apply(&op)?;
        steps.push(Step { pid, op, effect });
    }
    Ok(steps)
}

/// The directory's names and each file's size, as the record has changed them so far.
#[derive(Default)]
struct Namespace {
    names: HashMap<String, Ino>,
    sizes: Vec<u64>,
}

impl Namespace {
    fn ino_of(&self, name: &str) -> std::result::Result<Ino, String> {
        self.names
            .get(name)
            .copied()
            .ok_or_else(|| tr!("record-used-before-created", name = name))
    }

    /// What `op` does to the files, and the names and sizes after it.
    fn apply(&mut self, op: &Op) -> std::result::Result<Effect, String> {
        let bytes_of =
            |hex: &str| unhex(hex).ok_or_else(|| tr!("record-not-hex", text = format!("{hex:?}")));
        Ok(match op {
            Op::Create { name } => {
                let ino = self.sizes.len();
                self.sizes.push(0);
                self.names.insert(name.clone(), ino);
                Effect::Dir(DirOp::Link {
                    name: name.clone(),
                    ino,
                })
            }
            Op::Write {
                name,
                offset,
                bytes,
            } => {
                let ino = self.ino_of(name)?;
                let bytes = bytes_of(bytes)?;
                self.sizes[ino] = self.sizes[ino].max(offset + bytes.len() as u64);
                let change = Change::Write {
                    offset: *offset,
                    bytes,
                };
                Effect::Content { ino, change }
            }
            Op::Append { name, bytes } => {
                let ino = self.ino_of(name)?;
                let bytes = bytes_of(bytes)?;
                let offset = self.sizes[ino];
                self.sizes[ino] += bytes.len() as u64;
                let change = Change::Write { offset, bytes };
                Effect::Content { ino, change }
            }
            Op::Truncate { name, len } => {
                let ino = self.ino_of(name)?;
                self.sizes[ino] = *len;
                let change = Change::Truncate { len: *len };
                Effect::Content { ino, change }
            }
            Op::SyncFile { name } => Effect::SyncFile(self.ino_of(name)?),
            Op::SyncDir => Effect::SyncDir,
            Op::Rename { from, to } => {
                let ino = self.ino_of(from)?;
                self.names.remove(from);
                let replaced = self.names.insert(to.clone(), ino).is_some();
                Effect::Dir(DirOp::Rename {
                    from: from.clone(),
                    to: to.clone(),
                    ino,
                    replaced,
                })
            }
            Op::Exchange { a, b } => {
                let (ia, ib) = (self.ino_of(a)?, self.ino_of(b)?);
                self.names.insert(a.clone(), ib);
                self.names.insert(b.clone(), ia);
                Effect::Dir(DirOp::Exchange {
                    a: a.clone(),
                    b: b.clone(),
                })
            }
            Op::Unlink { name } => {
                self.ino_of(name)?;
                self.names.remove(name);
                Effect::Dir(DirOp::Unlink { name: name.clone() })
            }
            Op::Confirmed { buyer, seq } => Effect::Confirmed {
                buyer: *buyer,
                seq: *seq,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::record::hex;

    fn line(op: Op) -> Recorded {
        Recorded { pid: 1, op }
    }

    #[test]
    fn appends_land_at_the_end_and_renames_move_files() {
        let steps = resolve(
            &[],
            vec![
                line(Op::Create { name: "log".into() }),
                line(Op::Append {
                    name: "log".into(),
                    bytes: hex(b"ab"),
                }),
                line(Op::Append {
                    name: "log".into(),
                    bytes: hex(b"cd"),
                }),
                line(Op::Create { name: "tmp".into() }),
                line(Op::Rename {
                    from: "tmp".into(),
                    to: "data".into(),
                }),
                line(Op::SyncFile {
                    name: "data".into(),
                }),
            ],
        )
        .unwrap();
        assert_eq!(
            steps[2].effect,
            Effect::Content {
                ino: 0,
                change: Change::Write {
                    offset: 2,
                    bytes: b"cd".to_vec()
                }
            }
        );
        assert_eq!(steps[5].effect, Effect::SyncFile(1));
        let unknown = resolve(&[], vec![line(Op::Unlink { name: "x".into() })]);
        assert_eq!(unknown.unwrap_err(), "x is used before it is created");
    }

    #[test]
    fn files_there_before_the_race_are_known_by_name_and_size() {
        let initial = [("data".to_string(), b"{}".to_vec())];
        let steps = resolve(
            &initial,
            vec![
                line(Op::Append {
                    name: "data".into(),
                    bytes: hex(b"x"),
                }),
                line(Op::Create { name: "log".into() }),
            ],
        )
        .unwrap();
        let at_the_end = Effect::Content {
            ino: 0,
            change: Change::Write {
                offset: 2,
                bytes: b"x".to_vec(),
            },
        };
        assert_eq!(steps[0].effect, at_the_end);
        let log = Effect::Dir(DirOp::Link {
            name: "log".into(),
            ino: 1,
        });
        assert_eq!(steps[1].effect, log);
    }
}
