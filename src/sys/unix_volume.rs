//! Which filesystem a directory is on, for `doctor`: Linux names it by `statfs`'s magic number
//! (or, with its extras, by the mount table's own word), macOS and the BSDs by `f_fstypename`.

use std::io;
use std::path::Path;

#[cfg(all(target_os = "linux", not(feature = "portable-unix")))]
use super::linux as extras;
use super::{Place, Volume};

/// The filesystem `dir` is on. Unix says nothing of where it is: its name tells (nfs, cifs).
pub(crate) fn volume_of(dir: &Path) -> io::Result<Volume> {
    let stat = rustix::fs::statfs(dir)?;
    Ok(Volume {
        filesystem: filesystem_name(dir, &stat),
        place: Place::ByName,
    })
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn filesystem_name(dir: &Path, stat: &rustix::fs::StatFs) -> String {
    // The mount table says "ext4" where the magic number only says "ext2, 3 or 4", and it
    // knows a FUSE filesystem's subtype (fuse.sshfs).
    #[cfg(all(target_os = "linux", not(feature = "portable-unix")))]
    if let Some(name) = extras::mount_type(dir) {
        return name;
    }
    let _ = dir;
    #[allow(clippy::unnecessary_cast)] // f_type is signed on some targets, unsigned on others
    let magic = stat.f_type as u64 as u32;
    match linux_magic_name(magic) {
        Some(name) => name.to_string(),
        None => format!("0x{magic:x}"),
    }
}

/// The kernel's magic numbers (include/uapi/linux/magic.h and the filesystems' own sources).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn linux_magic_name(magic: u32) -> Option<&'static str> {
    Some(match magic {
        0xEF53 => "ext4",
        0x5846_5342 => "xfs",
        0x9123_683E => "btrfs",
        0x2FC1_2FC1 => "zfs",
        0xF2F5_2010 => "f2fs",
        0x3153_464A => "jfs",
        0x5265_4973 => "reiserfs",
        0x0102_1994 => "tmpfs",
        0x8584_58F6 => "ramfs",
        0x794C_7630 => "overlay",
        0x6175_6673 => "aufs",
        0x6969 => "nfs",
        0xFF53_4D42 => "cifs",
        0xFE53_4D42 => "smb2",
        0x517B => "smb",
        0x00C3_6400 => "ceph",
        0x6B41_4653 | 0x5346_414F => "afs",
        0x0BD0_0BD0 => "lustre",
        0x0116_1970 => "gfs2",
        0x7461_636F => "ocfs2",
        0x0102_1997 => "9p",
        0x6573_5546 => "fuse",
        0x786F_4256 => "vboxsf",
        0x4D44 => "vfat",
        0x2011_BAB0 => "exfat",
        0x5346_544E => "ntfs",
        0x7366_746E => "ntfs3",
        0x4244 => "hfs",
        0x482B => "hfsplus",
        0x7371_7368 => "squashfs",
        0x9660 => "iso9660",
        0x1501_3346 => "udf",
        0x9FA0 => "proc",
        0x6265_6572 => "sysfs",
        _ => return None,
    })
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn filesystem_name(_dir: &Path, stat: &rustix::fs::StatFs) -> String {
    let bytes: Vec<u8> = stat
        .f_fstypename
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}
