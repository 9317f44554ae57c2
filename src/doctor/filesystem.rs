//! What is known about a filesystem before any probe runs: its family, from the name the OS
//! gives it (`sys::volume_of`), and each family's caveats, the things a probe on this one
//! machine cannot show (locks that do not reach other machines, or the container's host).

use serde::Serialize;

use crate::sys::{Place, Volume};

/// The kinds of filesystem whose caveats differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Family {
    /// A disk of this machine: ext4, xfs, btrfs, zfs, APFS, NTFS, FAT...
    Local,
    /// Memory: tmpfs, ramfs.
    Memory,
    /// An overlay, as a container's own filesystem is.
    Overlay,
    /// Another machine's: NFS, CIFS/SMB, AFS, Ceph, Lustre...
    Network,
    /// 9p: under WSL 2 a Windows drive (drvfs) seen from Linux.
    NinePee,
    /// FUSE: a filesystem served by a user program (sshfs, rclone, ntfs-3g...).
    Fuse,
    /// A folder shared into a VM or container from its host: virtiofs, VirtualBox, VMware.
    HostShare,
    /// A name grab-tickets does not know.
    Unknown,
}

impl Family {
    /// The family's name in catalog keys and JSON.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Family::Local => "local",
            Family::Memory => "memory",
            Family::Overlay => "overlay",
            Family::Network => "network",
            Family::NinePee => "nine_p",
            Family::Fuse => "fuse",
            Family::HostShare => "host_share",
            Family::Unknown => "unknown",
        }
    }
}

const LOCAL: &[&str] = &[
    "ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "jfs", "reiserfs", "bcachefs", "apfs",
    "hfs", "hfsplus", "ufs", "ffs", "ntfs", "ntfs3", "refs", "vfat", "msdos", "fat", "fat32",
    "exfat", "udf", "iso9660", "squashfs",
];
const MEMORY: &[&str] = &["tmpfs", "ramfs", "devtmpfs"];
const OVERLAY: &[&str] = &["overlay", "overlayfs", "aufs"];
const NETWORK: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smb",
    "smb2",
    "smb3",
    "smbfs",
    "afs",
    "ceph",
    "glusterfs",
    "lustre",
    "gpfs",
    "gfs2",
    "ocfs2",
    "beegfs",
    "webdav",
    "davfs",
];
const NINE_PEE: &[&str] = &["9p", "v9fs", "drvfs", "wslfs", "lxfs"];
const HOST_SHARE: &[&str] = &[
    "virtiofs",
    "vboxsf",
    "vmhgfs",
    "prl_fs",
    "fakeowner",
    "grpcfuse",
];

/// The family of `volume`, by its name (case aside: Windows says "NTFS", Linux "ntfs3"), and
/// on Windows by the drive's own word that it is a network one.
pub(crate) fn family_of(volume: &Volume) -> Family {
    if volume.place == Place::Network {
        return Family::Network;
    }
    let name = volume.filesystem.to_ascii_lowercase();
    let is = |names: &[&str]| names.contains(&name.as_str());
    if is(LOCAL) {
        Family::Local
    } else if is(MEMORY) {
        Family::Memory
    } else if is(OVERLAY) {
        Family::Overlay
    } else if is(NETWORK) || name.starts_with("nfs") || name.starts_with("smb") {
        Family::Network
    } else if is(NINE_PEE) {
        Family::NinePee
    } else if is(HOST_SHARE) || name.starts_with("fuse.vmhgfs") {
        Family::HostShare
    } else if name.starts_with("fuse") || name == "macfuse" || name == "osxfuse" {
        Family::Fuse
    } else {
        Family::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn family(name: &str, place: Place) -> Family {
        family_of(&Volume {
            filesystem: name.to_string(),
            place,
        })
    }

    #[test]
    fn every_family_is_recognised_by_the_names_each_os_uses() {
        assert_eq!(family("ext4", Place::ByName), Family::Local);
        assert_eq!(family("NTFS", Place::Local), Family::Local);
        assert_eq!(family("apfs", Place::ByName), Family::Local);
        assert_eq!(family("tmpfs", Place::ByName), Family::Memory);
        assert_eq!(family("overlay", Place::ByName), Family::Overlay);
        assert_eq!(family("nfs4", Place::ByName), Family::Network);
        assert_eq!(family("smb2", Place::ByName), Family::Network);
        assert_eq!(family("NTFS", Place::Network), Family::Network);
        assert_eq!(family("9p", Place::ByName), Family::NinePee);
        assert_eq!(family("fuse.sshfs", Place::ByName), Family::Fuse);
        assert_eq!(family("virtiofs", Place::ByName), Family::HostShare);
        assert_eq!(family("0x1234", Place::ByName), Family::Unknown);
    }
}
