//! A data file in a shared directory (a class folder, /tmp): another local user may plant
//! symbolic links or hard links under the names grab-tickets writes, and none of them is ever
//! written through. The victim runs as an unprivileged user where permissions matter (root
//! ignores them), in a sticky world-writable directory like /tmp, and each planted target is
//! byte-identical afterwards.

mod common;
use common::{BIN, Run};
use std::fs;
use std::os::unix::fs::{PermissionsExt as _, symlink};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const ENVIRONMENT: i32 = 4;
/// The user who plays the victim when the tests run as root.
const NOBODY: u32 = 65534;
/// Contents of the file an attacker wants overwritten.
const PRECIOUS: &[u8] = b"the victim's own file, which must never change\n";

fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// A sticky, world-writable directory (mode 1777, like /tmp) holding the victim's data file,
/// and a file of the victim's that an attacker would like overwritten.
struct SharedDir {
    dir: tempfile::TempDir,
    data: PathBuf,
    precious: PathBuf,
}

impl SharedDir {
    fn new() -> SharedDir {
        let dir = tempfile::tempdir().expect("create temp dir");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o1777)).unwrap();
        let data = dir.path().join("data.json");
        let precious = dir.path().join("precious.txt");
        fs::write(&data, "{\"ticket_num\": 3}\n").unwrap();
        fs::write(&precious, PRECIOUS).unwrap();
        fs::set_permissions(&precious, fs::Permissions::from_mode(0o600)).unwrap();
        let shared = SharedDir {
            dir,
            data,
            precious,
        };
        shared.give_to_victim(&shared.data);
        shared.give_to_victim(&shared.precious);
        shared
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Makes `path` the victim's (only needed, and only possible, as root).
    fn give_to_victim(&self, path: &Path) {
        if running_as_root() {
            std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY)).unwrap();
        }
    }

    /// grab-tickets on the data file as the victim: nobody when we are root. The binary is
    /// linked (or copied) into a directory nobody can reach, since the build directory may
    /// sit under a private home.
    fn victim_command(&self) -> Command {
        let mut cmd = if running_as_root() {
            let bin_dir = self.path("bin");
            fs::create_dir(&bin_dir).unwrap();
            fs::set_permissions(&bin_dir, fs::Permissions::from_mode(0o755)).unwrap();
            let bin = bin_dir.join("grab-tickets");
            if fs::hard_link(BIN, &bin).is_err() {
                fs::copy(BIN, &bin).unwrap();
            }
            let mut cmd = Command::new(bin);
            cmd.uid(NOBODY).gid(NOBODY);
            cmd
        } else {
            Command::new(BIN)
        };
        cmd.arg("--data").arg(&self.data);
        cmd
    }

    fn run_as_victim(&self, args: &[&str]) -> Run {
        let mut cmd = self.victim_command();
        cmd.args(args);
        Run::of(cmd)
    }

    fn assert_precious_untouched(&self, run: &Run) {
        assert_eq!(
            fs::read(&self.precious).unwrap(),
            PRECIOUS,
            "the planted link's target changed{}",
            run.context()
        );
    }
}

/// Pids the next processes on this machine will probably get: the attacker's guess.
fn next_pids(count: u32) -> impl Iterator<Item = u32> {
    let read = |name: &str| -> u32 {
        fs::read_to_string(format!("/proc/sys/kernel/{name}"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let (last, max) = (read("ns_last_pid"), read("pid_max"));
    // Pids wrap around to just above 300 after pid_max.
    (1..=count).map(move |i| {
        let pid = last + i;
        if pid >= max { pid - max + 301 } else { pid }
    })
}

#[test]
fn temp_file_symlinks_planted_for_the_next_pids_are_never_followed() {
    let shared = SharedDir::new();
    let planted: Vec<u32> = next_pids(3000).collect();
    for pid in &planted {
        symlink(
            &shared.precious,
            shared.path(&format!("data.json.{pid}.tmp")),
        )
        .unwrap();
    }
    let run = shared.run_as_victim(&["--json", "--buyers", "4", "--delay-ms", "0..1"]);
    run.assert_code(0);
    shared.assert_precious_untouched(&run);
    let report = run.json();
    let pids: Vec<u32> = report["buyers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["pid"].as_u64().unwrap() as u32)
        .collect();
    assert!(
        pids.iter().any(|pid| planted.contains(pid)),
        "no buyer got a pid the attacker planted for ({pids:?}), so nothing was tested{}",
        run.context()
    );
    let meta = fs::symlink_metadata(&shared.data).unwrap();
    assert!(
        meta.file_type().is_file(),
        "data.json must stay a regular file"
    );
    let data: serde_json::Value = serde_json::from_slice(&fs::read(&shared.data).unwrap()).unwrap();
    assert_eq!(data["ticket_num"], 0, "{}", run.context());
    for pid in &planted {
        let link = shared.path(&format!("data.json.{pid}.tmp"));
        assert!(fs::symlink_metadata(&link).unwrap().is_symlink());
    }
}

#[test]
fn planted_lock_and_log_symlinks_are_refused_and_their_targets_untouched() {
    for (sidecar, what) in [
        ("data.json.lock", "lock file"),
        ("data.json.orders", "order log"),
    ] {
        let shared = SharedDir::new();
        symlink(&shared.precious, shared.path(sidecar)).unwrap();
        let before = fs::read(&shared.data).unwrap();
        let run = shared.run_as_victim(&["--buyers", "2"]);
        run.assert_code(ENVIRONMENT)
            .assert_stderr_contains(&format!(
                "{what} {} is a symbolic link",
                shared.path(sidecar).display()
            ))
            .assert_stderr_contains("remove the link");
        shared.assert_precious_untouched(&run);
        assert_eq!(fs::read(&shared.data).unwrap(), before, "{}", run.context());
        for other in ["data.json.lock", "data.json.orders"] {
            if other != sidecar {
                assert!(
                    !shared.path(other).exists(),
                    "a refused run created {other}{}",
                    run.context()
                );
            }
        }
    }
}

#[test]
fn a_hard_linked_log_or_lock_file_is_refused_and_the_other_name_untouched() {
    for (sidecar, what) in [
        ("data.json.orders", "order log"),
        ("data.json.lock", "lock file"),
    ] {
        let shared = SharedDir::new();
        // As an attacker may where fs.protected_hardlinks is 0 (root may anywhere).
        fs::hard_link(&shared.precious, shared.path(sidecar)).unwrap();
        let before = fs::read(&shared.data).unwrap();
        let run = shared.run_as_victim(&["--buyers", "2"]);
        run.assert_code(ENVIRONMENT)
            .assert_stderr_contains(&format!(
                "{what} {} has 2 hard links",
                shared.path(sidecar).display()
            ));
        shared.assert_precious_untouched(&run);
        assert_eq!(fs::read(&shared.data).unwrap(), before, "{}", run.context());
    }
}

#[test]
fn a_fifo_planted_as_the_lock_file_is_refused_without_hanging() {
    let shared = SharedDir::new();
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        shared.path("data.json.lock"),
        rustix::fs::Mode::from_raw_mode(0o666),
    )
    .unwrap();
    shared
        .run_as_victim(&["--buyers", "2"])
        .assert_code(ENVIRONMENT)
        .assert_stderr_contains("is a named pipe (FIFO), not a regular file");
}

#[test]
fn a_data_file_symlink_planted_by_another_user_is_not_followed() {
    if !running_as_root() {
        eprintln!("skipped: needs root to plant a link owned by another user");
        return;
    }
    let shared = SharedDir::new();
    fs::remove_file(&shared.data).unwrap();
    // A JSON file of the victim's that the attacker would like rewritten.
    fs::write(&shared.precious, "{\"ticket_num\": 5}").unwrap();
    let link = shared.path("data.json");
    symlink(&shared.precious, &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(4321), Some(4321)).unwrap();
    let run = shared.run_as_victim(&["--buyers", "2"]);
    run.assert_code(ENVIRONMENT)
        .assert_stderr_contains("is a symbolic link owned by another user (uid 4321)");
    assert_eq!(fs::read(&shared.precious).unwrap(), b"{\"ticket_num\": 5}");
}

#[test]
fn new_sidecars_get_the_data_files_permission_bits_whatever_the_umask() {
    for (bits, umask) in [(0o600, 0o022), (0o640, 0o022), (0o664, 0o077)] {
        let shared = SharedDir::new();
        fs::set_permissions(&shared.data, fs::Permissions::from_mode(bits)).unwrap();
        let mut cmd = shared.victim_command();
        cmd.args(["-q", "--buyers", "2", "--delay-ms", "0..1"]);
        // SAFETY: umask is async-signal-safe and touches nothing but the child's own mask.
        unsafe {
            cmd.pre_exec(move || {
                libc::umask(umask);
                Ok(())
            });
        }
        let run = Run::of(cmd);
        run.assert_code(0);
        for name in ["data.json", "data.json.lock", "data.json.orders"] {
            let mode = fs::metadata(shared.path(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(
                mode,
                bits,
                "{name}: {mode:o}, expected {bits:o} (umask {umask:o}){}",
                run.context()
            );
        }
    }
}
