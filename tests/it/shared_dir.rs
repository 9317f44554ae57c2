//! A data file in a shared directory (a class folder, /tmp): another local user may plant
//! symbolic links or hard links under the names grab-tickets writes, and none of them is ever
//! written through. The victim runs as an unprivileged user where permissions matter (root
//! ignores them), in a sticky world-writable directory like /tmp, and each planted target is
//! byte-identical afterwards.

use crate::common::exit::ENVIRONMENT;
use crate::common::{Run, TestEnv, needs};
use std::fs;
use std::os::unix::fs::{PermissionsExt as _, symlink};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};

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
    env: TestEnv,
    precious: PathBuf,
}

impl SharedDir {
    fn new() -> SharedDir {
        let env = TestEnv::new();
        fs::set_permissions(env.dir.path(), fs::Permissions::from_mode(0o1777)).unwrap();
        let precious = env.path("precious.txt");
        fs::write(&precious, PRECIOUS).unwrap();
        fs::set_permissions(&precious, fs::Permissions::from_mode(0o600)).unwrap();
        give_to_victim(&env.data);
        give_to_victim(&precious);
        SharedDir { env, precious }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.env.path(name)
    }

    /// Runs grab-tickets on the data file with `args`, as the victim: nobody when we are
    /// root, with the umask `umask` if given.
    fn run_as_victim(&self, args: &[&str], umask: Option<libc::mode_t>) -> Run {
        let root = running_as_root();
        self.env
            .race()
            .args(args)
            .configure(move |cmd| {
                if root {
                    cmd.uid(NOBODY).gid(NOBODY);
                }
                if let Some(mask) = umask {
                    // SAFETY: umask is async-signal-safe and changes only the child's mask.
                    unsafe {
                        cmd.pre_exec(move || {
                            libc::umask(mask);
                            Ok(())
                        });
                    }
                }
            })
            .run()
    }

    fn assert_precious_untouched(&self, run: &Run) {
        run.assert_that(
            fs::read(&self.precious).unwrap() == PRECIOUS,
            "the planted link's target changed",
        );
    }
}

/// Makes `path` the victim's (only needed, and only possible, as root).
fn give_to_victim(path: &Path) {
    if running_as_root() {
        std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY)).unwrap();
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
    let run = shared.run_as_victim(&["--json", "--buyers", "4", "--delay-ms", "0..1"], None);
    run.assert_success().assert_tickets_left(0);
    shared.assert_precious_untouched(&run);
    let pids: Vec<u32> = run
        .buyers()
        .iter()
        .map(|b| b["pid"].as_u64().unwrap() as u32)
        .collect();
    run.assert_that(
        pids.iter().any(|pid| planted.contains(pid)),
        format!("no buyer got a pid the attacker planted for ({pids:?}): nothing was tested"),
    );
    let meta = fs::symlink_metadata(&shared.env.data).unwrap();
    run.assert_that(
        meta.file_type().is_file(),
        "data.json is no longer a regular file",
    );
    for pid in &planted {
        let link = shared.path(&format!("data.json.{pid}.tmp"));
        assert!(fs::symlink_metadata(&link).unwrap().is_symlink());
    }
}

/// For the lock file and the order log in turn: `plant(target, sidecar)` puts something
/// under the sidecar's name pointing at the victim's precious file; the victim's run must
/// refuse it (exit 4) with `problem` after the sidecar's name, change neither the data file
/// nor the target, and create neither sidecar.
fn refuses_planted_sidecars(plant: fn(&Path, &Path) -> std::io::Result<()>, problem: &str) {
    for (sidecar, what) in [
        ("data.json.lock", "lock file"),
        ("data.json.orders", "order log"),
    ] {
        let shared = SharedDir::new();
        plant(&shared.precious, &shared.path(sidecar)).unwrap();
        let run = shared.run_as_victim(&["--buyers", "2"], None);
        run.assert_code(ENVIRONMENT)
            .assert_stderr_contains(&format!(
                "{what} {} {problem}",
                shared.path(sidecar).display()
            ))
            .assert_data_untouched();
        shared.assert_precious_untouched(&run);
        for other in ["data.json.lock", "data.json.orders"] {
            if other != sidecar {
                run.assert_that(
                    !shared.path(other).exists(),
                    format!("a refused run created {other}"),
                );
            }
        }
    }
}

#[test]
fn planted_lock_and_log_symlinks_are_refused_and_their_targets_untouched() {
    refuses_planted_sidecars(
        |target, name| symlink(target, name),
        "is a symbolic link; grab-tickets never follows links to its own files",
    );
}

#[test]
fn a_hard_linked_log_or_lock_file_is_refused_and_the_other_name_untouched() {
    // As an attacker may where fs.protected_hardlinks is 0 (root may anywhere).
    refuses_planted_sidecars(
        |target, name| fs::hard_link(target, name),
        "has 2 hard links: another name shares its contents",
    );
}

#[test]
fn a_fifo_planted_as_the_lock_file_is_refused_without_hanging() {
    let shared = SharedDir::new();
    crate::common::make_fifo(&shared.path("data.json.lock"), 0o666);
    shared
        .run_as_victim(&["--buyers", "2"], None)
        .assert_code(ENVIRONMENT)
        .assert_stderr_contains("is a named pipe (FIFO), not a regular file")
        .assert_data_untouched();
}

#[test]
fn a_data_file_symlink_planted_by_another_user_is_not_followed() {
    if !needs::root("a data file symlink planted by another user") {
        return;
    }
    let shared = SharedDir::new();
    fs::remove_file(&shared.env.data).unwrap();
    // A JSON file of the victim's that the attacker would like rewritten.
    fs::write(&shared.precious, "{\"ticket_num\": 5}").unwrap();
    let link = shared.path("data.json");
    symlink(&shared.precious, &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(4321), Some(4321)).unwrap();
    let run = shared.run_as_victim(&["--buyers", "2"], None);
    run.assert_code(ENVIRONMENT)
        .assert_stderr_contains("is a symbolic link owned by another user (uid 4321)")
        .assert_that(
            fs::read(&shared.precious).unwrap() == b"{\"ticket_num\": 5}",
            "the link's target changed",
        );
}

#[test]
fn new_sidecars_get_the_data_files_permission_bits_whatever_the_umask() {
    for (bits, umask) in [(0o600, 0o022), (0o640, 0o022), (0o664, 0o077)] {
        let shared = SharedDir::new();
        fs::set_permissions(&shared.env.data, fs::Permissions::from_mode(bits)).unwrap();
        let run = shared.run_as_victim(&["-q", "--buyers", "2", "--delay-ms", "0..1"], Some(umask));
        run.assert_success();
        for name in ["data.json", "data.json.lock", "data.json.orders"] {
            let mode = fs::metadata(shared.path(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            run.assert_that(
                mode == bits,
                format!("{name} is {mode:o}, expected {bits:o} (umask {umask:o})"),
            );
        }
    }
}
