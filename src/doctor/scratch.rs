//! The checkup's own files in the directory under test: every name starts with one stem no one
//! else uses (`.grab-tickets-doctor.<pid>.<random>`), so at the end each one can be found and
//! removed, and the directory is left as it was found.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use crate::shop::directory::DataDir;

pub(crate) struct Scratch {
    dir: PathBuf,
    stem: String,
}

impl Scratch {
    pub(crate) fn new(dir: &Path) -> Scratch {
        Scratch {
            dir: dir.to_path_buf(),
            stem: format!(
                ".grab-tickets-doctor.{}.{:016x}",
                std::process::id(),
                rand::random::<u64>()
            ),
        }
    }

    /// The path of the checkup's file `suffix` (`probe.json` → `<stem>.probe.json`).
    pub(crate) fn path(&self, suffix: &str) -> PathBuf {
        self.dir.join(format!("{}.{suffix}", self.stem))
    }

    /// Whether a new file can be made here: creates one (the shop's own way, `O_EXCL`, no link
    /// followed) and removes it again.
    pub(crate) fn try_write(&self) -> crate::exit::Result<()> {
        let path = self.path("write");
        let (dir, name) = DataDir::open(&path)?;
        let created = dir
            .create_new(name)
            .and_then(|mut file| io::Write::write_all(&mut file, b"grab-tickets doctor\n"));
        let _ = dir.handle().unlink(name);
        created.map_err(|e| crate::exit::Error::io("create temp file", &path, &e))
    }

    /// Removes every file of the checkup's; returns the names that could not be removed.
    pub(crate) fn clean(&self) -> Vec<String> {
        for name in self.ours() {
            let _ = std::fs::remove_file(self.dir.join(&name));
        }
        self.ours()
            .into_iter()
            .map(|name| name.to_string_lossy().into_owned())
            .collect()
    }

    fn ours(&self) -> BTreeSet<OsString> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return BTreeSet::new();
        };
        entries
            .flatten()
            .map(|e| e.file_name())
            .filter(|name| name.as_encoded_bytes().starts_with(self.stem.as_bytes()))
            .collect()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        self.clean();
    }
}
