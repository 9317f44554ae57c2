//! The file store's own files (the data file, its lock file, its order log): which of them a
//! path names, directly, through a symbolic link or as a second hard link, so that no output
//! of a run can ever overwrite the shop it raced on.

use std::path::{Path, PathBuf};

use super::lock::lock_path_for;
use super::orders::log_path_for;

/// One of the files the shop is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShopFile {
    Data,
    Lock,
    Log,
}

impl ShopFile {
    /// The catalog's selector for it.
    pub(crate) fn key(self) -> &'static str {
        match self {
            ShopFile::Data => "data",
            ShopFile::Lock => "lock",
            ShopFile::Log => "log",
        }
    }
}

/// How a path reaches a shop file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reached {
    /// The same name in the same directory.
    Named,
    /// Through one or more symbolic links.
    Link,
    /// Another name for the same inode.
    HardLink,
}

impl Reached {
    pub(crate) fn key(self) -> &'static str {
        match self {
            Reached::Named => "named",
            Reached::Link => "link",
            Reached::HardLink => "hardlink",
        }
    }
}

/// Which shop file of `data` (a resolved data path) `path` names, with the shop file's path,
/// if it names one. `follow` is `path` with its links followed.
pub(crate) fn named_by(
    path: &Path,
    follow: &Path,
    data: &Path,
) -> Option<(ShopFile, Reached, PathBuf)> {
    let shop = [
        (ShopFile::Data, data.to_path_buf()),
        (ShopFile::Lock, lock_path_for(data)),
        (ShopFile::Log, log_path_for(data)),
    ];
    let through_link = follow != path;
    let target = canonical(follow);
    for (file, shop_path) in &shop {
        if target.is_some() && target == canonical(shop_path) {
            let how = if through_link {
                Reached::Link
            } else {
                Reached::Named
            };
            return Some((*file, how, shop_path.clone()));
        }
    }
    // A hard link is a different name for the same file: only the inode tells.
    let id = crate::sys::id_of_path;
    let target_id = id(follow)?;
    shop.into_iter()
        .find(|(_, shop_path)| id(shop_path) == Some(target_id))
        .map(|(file, shop_path)| (file, Reached::HardLink, shop_path))
}

/// Whether two paths (links followed) name one place: the same directory and name, or the
/// same existing file.
pub(crate) fn same_place(a: &Path, b: &Path) -> bool {
    let id = crate::sys::id_of_path;
    (canonical(a).is_some() && canonical(a) == canonical(b))
        || id(a).is_some_and(|a| id(b) == Some(a))
}

/// The path as its directory's canonical path plus its name, whether or not the file exists;
/// `None` when the directory does not exist (then it names no shop file).
fn canonical(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::canonicalize(dir).ok().map(|dir| dir.join(name))
}
