//! An output file (`--trace`, `--html`): staged as a temp file beside its destination and
//! renamed over it once complete, so a run that fails, or a write that fails, never truncates
//! what was there. A link at the destination is followed: the user's link keeps pointing at
//! the new file.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::exit::{Error, Result};

/// Linux's own limit on symbolic links followed in one lookup.
const MAX_LINKS: usize = 40;

/// What the messages call each output, as the `Error::io` action keys spell it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum OutKind {
    Trace,
    Page,
}

impl OutKind {
    fn create_action(self) -> &'static str {
        match self {
            OutKind::Trace => "create trace file",
            OutKind::Page => "create page",
        }
    }

    fn write_action(self) -> &'static str {
        match self {
            OutKind::Trace => "write trace file",
            OutKind::Page => "write page",
        }
    }
}

/// A staged output: the temp file is removed on drop unless [`OutFile::finish`] renamed it.
pub(crate) struct OutFile {
    kind: OutKind,
    /// The path as the user typed it, for messages.
    shown: PathBuf,
    /// Where the finished file goes: the user's path with its links followed.
    dest: PathBuf,
    temp: Option<(PathBuf, File)>,
}

impl OutFile {
    /// Creates the temp file now, so a missing or read-only directory fails before the race.
    pub(crate) fn create(kind: OutKind, path: &Path) -> Result<OutFile> {
        let dest = follow_links(path);
        let shown = path.to_path_buf();
        if dest.is_dir() {
            return Err(Error::io(
                kind.create_action(),
                path,
                &io::Error::from(io::ErrorKind::IsADirectory),
            ));
        }
        let temp = temp_path_for(&dest);
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| Error::io(kind.create_action(), path, &e))?;
        Ok(OutFile {
            kind,
            shown,
            dest,
            temp: Some((temp, file)),
        })
    }

    /// Writes the whole file with `fill`, makes it durable, then renames it over the
    /// destination in one step.
    pub(crate) fn finish(
        mut self,
        fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<()> {
        let (temp, file) = self.temp.take().expect("an output is finished once");
        let mut out = BufWriter::new(&file);
        let written = fill(&mut out)
            .and_then(|()| out.flush())
            .and_then(|()| {
                drop(out);
                file.sync_all()
            })
            .and_then(|()| std::fs::rename(&temp, &self.dest));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(Error::io(self.kind.write_action(), &self.shown, &e));
        }
        Ok(())
    }
}

impl Drop for OutFile {
    fn drop(&mut self) {
        if let Some((temp, _)) = self.temp.take() {
            let _ = std::fs::remove_file(temp);
        }
    }
}

/// `dir/.page.html.<pid>.<random>.tmp`: hidden, in the destination's directory (a rename
/// cannot cross filesystems), and unique to this run.
fn temp_path_for(dest: &Path) -> PathBuf {
    let name = dest.file_name().unwrap_or_default().to_string_lossy();
    let temp = format!(
        ".{name}.{}.{:016x}.tmp",
        std::process::id(),
        rand::random::<u64>()
    );
    dest.with_file_name(temp)
}

/// The path with every symbolic link at its end followed (a relative target is relative to
/// the link's directory), stopping at the first name that is not a link or does not exist.
pub(crate) fn follow_links(path: &Path) -> PathBuf {
    let mut path = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
        let target = match std::fs::read_link(&path) {
            Ok(target) if is_link => target,
            _ => return path,
        };
        path = path.parent().unwrap_or(Path::new("")).join(target);
    }
    path
}
