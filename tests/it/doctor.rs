//! `grab-tickets doctor`: on the temp directory's own filesystem, a tmpfs and an overlay it
//! names the filesystem and finds it safe (exit 0); a read-only or missing directory is
//! "cannot test" (exit 4), never safe; a planted torn replace or a lock that reaches nobody is
//! "not safe" (exit 1). The directory is left exactly as found, and the data file untouched.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::needs::Need;
use crate::common::{Run, exit, grab_tickets};

const PROBES: [&str; 5] = [
    "exclusive_lock",
    "flock_and_fcntl",
    "atomic_replace",
    "file_fsync",
    "directory_fsync",
];

fn doctor(dir: &Path) -> crate::common::Race {
    grab_tickets()
        .arg("doctor")
        .arg("--data")
        .arg(dir.join("data.json"))
}

fn listing(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("list the directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

/// Runs `doctor --json` on `dir`, checks it left `dir` as it found it, and returns the run
/// and its document.
fn checkup(dir: &Path) -> (Run, Value) {
    let before = listing(dir);
    let run = doctor(dir).arg("--json").run();
    assert_eq!(
        listing(dir),
        before,
        "doctor left the directory changed\n{}",
        run.context()
    );
    let doc = serde_json::from_str(run.stdout())
        .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{}", run.context()));
    (run, doc)
}

fn verdicts(doc: &Value) -> Vec<(String, String)> {
    doc["probes"]
        .as_array()
        .expect("probes is a list")
        .iter()
        .map(|p| {
            let name = p["probe"].as_str().unwrap_or_default().to_string();
            (name, p["verdict"].as_str().unwrap_or_default().to_string())
        })
        .collect()
}

/// Every probe ran and was safe, and the whole directory is: exit 0.
fn assert_safe(run: &Run, doc: &Value, filesystem: &str, family: &str) {
    run.assert_code(exit::OK);
    let context = run.context();
    assert_eq!(doc["filesystem"]["name"], filesystem, "{context}");
    assert_eq!(doc["filesystem"]["family"], family, "{context}");
    let expected: Vec<(String, String)> = PROBES
        .iter()
        .map(|p| (p.to_string(), "safe".to_string()))
        .collect();
    assert_eq!(verdicts(doc), expected, "{context}");
    assert_eq!(doc["verdict"], "safe", "{context}");
    assert_eq!(doc["exit_code"], 0, "{context}");
    let outcomes: Vec<&str> = doc["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["outcome"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(outcomes[0], "lock_excludes", "{context}");
    assert_eq!(outcomes[2], "replace_atomic", "{context}");
    let reads = &doc["probes"][2]["reads"];
    assert_eq!(reads["swaps"], 2000, "{context}");
    assert!(reads["changes"].as_u64() > Some(0), "{context}");
    for torn in ["missing", "partial", "failed"] {
        assert_eq!(reads[torn], 0, "{torn}: {context}");
    }
}

/// The filesystem type the mount table gives `dir` (util-linux findmnt).
fn mount_type(dir: &Path) -> String {
    let out = Command::new("findmnt")
        .args(["-n", "-o", "FSTYPE", "--target"])
        .arg(dir)
        .output()
        .expect("run findmnt");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A filesystem mounted on a temp directory for one test, unmounted when dropped, even when
/// the test fails.
struct Mounted {
    point: PathBuf,
    _dir: tempfile::TempDir,
}

impl Mounted {
    /// `mount -t KIND -o OPTIONS KIND <temp>/mnt`; `None`, with the need reported, when this
    /// is not root or root may not mount here. `options` may name `{dir}`, the temp directory.
    fn new(test: &str, kind: &str, options: &str, dirs: &[&str]) -> Option<Mounted> {
        if !is_root() {
            Need::Mount.missing(test);
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        for sub in dirs.iter().chain(&["mnt"]) {
            std::fs::create_dir(dir.path().join(sub)).expect("mkdir");
        }
        let point = dir.path().join("mnt");
        let options = options.replace("{dir}", &dir.path().to_string_lossy());
        let mounted = Command::new("mount")
            .args(["-t", kind, "-o", &options, kind])
            .arg(&point)
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            Need::Mount.missing(test);
            return None;
        }
        Some(Mounted { point, _dir: dir })
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let unmounted = Command::new("umount").arg(&self.point).status();
        if !unmounted.is_ok_and(|s| s.success()) {
            let _ = Command::new("umount").arg("-l").arg(&self.point).status();
        }
    }
}

#[test]
fn the_temp_directory_is_safe_and_its_filesystem_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    // doctor never reads or writes the data file itself.
    let data = dir.path().join("data.json");
    std::fs::write(&data, "{\"ticket_num\": 3}\n").unwrap();
    let (run, doc) = checkup(dir.path());
    assert_safe(&run, &doc, &mount_type(dir.path()), "local");
    assert_eq!(std::fs::read(&data).unwrap(), b"{\"ticket_num\": 3}\n");
}

#[test]
fn a_tmpfs_is_safe_and_its_caveat_is_the_reboot() {
    let Some(tmpfs) = Mounted::new("tmpfs", "tmpfs", "size=16m", &[]) else {
        return;
    };
    let (run, doc) = checkup(&tmpfs.point);
    assert_safe(&run, &doc, "tmpfs", "memory");
    doctor(&tmpfs.point)
        .run()
        .assert_code(exit::OK)
        .assert_stdout_contains("Filesystem: tmpfs, kept in memory.")
        .assert_stdout_contains("nothing here survives a reboot")
        .assert_stdout_contains("Verdict: safe to race in this directory");
}

#[test]
fn an_overlay_is_safe_and_its_caveat_is_the_host() {
    let options = "lowerdir={dir}/lower,upperdir={dir}/upper,workdir={dir}/work";
    let Some(overlay) = Mounted::new("overlay", "overlay", options, &["lower", "upper", "work"])
    else {
        return;
    };
    let (run, doc) = checkup(&overlay.point);
    assert_safe(&run, &doc, "overlay", "overlay");
    let upper = overlay.point.parent().unwrap().join("upper");
    assert_eq!(
        listing(&upper),
        BTreeSet::new(),
        "the overlay's upper layer kept files"
    );
    doctor(&overlay.point)
        .run()
        .assert_code(exit::OK)
        .assert_stdout_contains("if this is a container, programs on the host");
}

/// A directory nobody may create files in: for root (whom permission bits do not stop) a
/// read-only tmpfs, for anyone else a directory of mode 0555.
enum ReadOnly {
    Mount(Mounted),
    Mode(tempfile::TempDir),
}

impl ReadOnly {
    fn new() -> Option<ReadOnly> {
        if is_root() {
            return Mounted::new("read-only", "tmpfs", "ro,size=1m", &[]).map(ReadOnly::Mount);
        }
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
        Some(ReadOnly::Mode(dir))
    }

    fn path(&self) -> &Path {
        match self {
            ReadOnly::Mount(mounted) => &mounted.point,
            ReadOnly::Mode(dir) => dir.path(),
        }
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt as _;
        if let ReadOnly::Mode(dir) = self {
            let _ = std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755));
        }
    }
}

#[test]
fn a_directory_it_cannot_write_is_cannot_test_never_safe() {
    let Some(read_only) = ReadOnly::new() else {
        return;
    };
    let (run, doc) = checkup(read_only.path());
    run.assert_code(exit::ENVIRONMENT);
    let context = run.context();
    assert_eq!(doc["verdict"], "cannot_test", "{context}");
    assert_eq!(doc["exit_code"], exit::ENVIRONMENT, "{context}");
    let refusal = match read_only {
        ReadOnly::Mount(_) => {
            assert_eq!(doc["filesystem"]["name"], "tmpfs", "{context}");
            "Read-only"
        }
        ReadOnly::Mode(_) => "Permission denied",
    };
    for probe in doc["probes"].as_array().unwrap() {
        assert_eq!(probe["verdict"], "cannot_test", "{context}");
        assert_eq!(probe["outcome"], "not_writable", "{context}");
        assert!(
            probe["error"].as_str().unwrap().contains(refusal),
            "{context}"
        );
    }
    doctor(read_only.path())
        .run()
        .assert_code(exit::ENVIRONMENT)
        .assert_stdout_contains("No file could be created in the directory")
        .assert_stdout_contains("Verdict: cannot test this directory")
        .assert_stdout_lacks("Verdict: safe");
    // A script's document is the same in every classroom, the errors in it too.
    doctor(read_only.path())
        .arg("--json")
        .lang("zh")
        .run()
        .assert_code(exit::ENVIRONMENT)
        .assert_stdout_contains("failed to create temp file")
        .assert_stdout_lacks("无法");
}

#[test]
fn a_missing_directory_is_cannot_test() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (run, doc) = {
        let run = doctor(&dir.path().join("nowhere")).arg("--json").run();
        let doc: Value = serde_json::from_str(run.stdout()).expect("JSON");
        (run, doc)
    };
    run.assert_code(exit::ENVIRONMENT);
    assert_eq!(doc["verdict"], "cannot_test", "{}", run.context());
    assert_eq!(
        doc["probes"][0]["outcome"],
        "no_directory",
        "{}",
        run.context()
    );
    assert!(
        !dir.path().join("nowhere").exists(),
        "doctor created the directory"
    );
}

#[test]
fn a_torn_replace_is_not_safe() {
    let dir = tempfile::tempdir().expect("temp dir");
    let before = listing(dir.path());
    let run = doctor(dir.path())
        .arg("--json")
        .env("GRAB_TICKETS_PLANTED_BUG", "torn-replace")
        .run();
    run.assert_code(exit::CHECK_FAILED);
    let doc: Value = serde_json::from_str(run.stdout()).expect("JSON");
    let replace = &doc["probes"][2];
    assert_eq!(replace["verdict"], "not_safe", "{}", run.context());
    assert_eq!(replace["outcome"], "replace_torn", "{}", run.context());
    assert!(
        replace["reads"]["partial"].as_u64() > Some(0),
        "{}",
        run.context()
    );
    assert_eq!(doc["verdict"], "not_safe", "{}", run.context());
    assert_eq!(listing(dir.path()), before);
}

#[test]
fn a_lock_that_excludes_nobody_is_not_safe() {
    let dir = tempfile::tempdir().expect("temp dir");
    doctor(dir.path())
        .env("GRAB_TICKETS_PLANTED_BUG", "lock-elsewhere")
        .run()
        .assert_code(exit::CHECK_FAILED)
        .assert_stdout_contains("the race's lock, across two processes: NOT SAFE")
        .assert_stdout_contains("A second process got the lock while this one held it")
        .assert_stdout_contains("Verdict: NOT SAFE");
    assert_eq!(listing(dir.path()), BTreeSet::new());
}

/// Every key docs/json.md documents for doctor, with its type.
#[test]
fn the_json_has_every_documented_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (run, doc) = checkup(dir.path());
    let context = run.context();
    assert!(
        doc["data"].is_string() && doc["directory"].is_string(),
        "{context}"
    );
    assert!(doc["filesystem"]["name"].is_string(), "{context}");
    assert!(doc["filesystem"]["family"].is_string(), "{context}");
    assert!(doc["filesystem"]["error"].is_null(), "{context}");
    assert!(
        doc["left_behind"].as_array().is_some_and(Vec::is_empty),
        "{context}"
    );
    assert!(
        doc["took_ms"].is_u64() && doc["exit_code"].is_u64(),
        "{context}"
    );
    let probes = doc["probes"].as_array().expect("probes");
    assert_eq!(probes.len(), PROBES.len(), "{context}");
    for (probe, name) in probes.iter().zip(PROBES) {
        assert_eq!(probe["probe"], name, "{context}");
        for key in ["verdict", "outcome"] {
            assert!(probe[key].is_string(), "{name}.{key}: {context}");
        }
        assert!(probe["took_ms"].is_u64(), "{context}");
        assert!(probe.get("error").is_some(), "{context}");
        assert_eq!(
            probe.get("reads").is_some(),
            name == "atomic_replace",
            "{context}"
        );
    }
    // The same keys and values whatever the language.
    let zh = doctor(&dir.path().join("nowhere"))
        .arg("--json")
        .lang("zh")
        .run();
    assert!(
        zh.stdout().contains("\"verdict\": \"cannot_test\""),
        "{}",
        zh.context()
    );
    assert!(!zh.stdout().contains("无法"), "{}", zh.context());
}

#[test]
fn in_chinese_for_a_chinese_classroom() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = doctor(dir.path())
        .env("LANG", "zh_CN.UTF-8")
        .env("LC_ALL", "zh_CN.UTF-8")
        .run();
    run.assert_code(exit::OK)
        .assert_stdout_contains("grab-tickets doctor：在 ")
        .assert_stdout_contains("- 抢票用的锁，跨两个进程：安全")
        .assert_stdout_contains("- 替换数据文件：安全")
        .assert_stdout_contains("结论：在本机上，在这个目录里抢票是安全的（退出状态 0")
        .assert_stdout_lacks("Verdict")
        .assert_stdout_lacks("safe");
    let missing = doctor(&dir.path().join("nowhere"))
        .env("LANG", "zh_CN.UTF-8")
        .env("LC_ALL", "zh_CN.UTF-8")
        .run();
    missing
        .assert_code(exit::ENVIRONMENT)
        .assert_stdout_contains("目录不存在，什么也测不了")
        .assert_stdout_contains("结论：这个目录测不了");
}

#[test]
fn ctrl_c_stops_it_and_still_leaves_the_directory_as_found() {
    let dir = tempfile::tempdir().expect("temp dir");
    let before = listing(dir.path());
    let live = doctor(dir.path()).spawn();
    // Its first file is the sign it is at work in the directory.
    let started = std::time::Instant::now();
    while !listing(dir.path())
        .iter()
        .any(|n| n.starts_with(".grab-tickets-doctor."))
    {
        assert!(
            started.elapsed() < crate::common::BACKSTOP,
            "doctor never made a file"
        );
        std::thread::yield_now();
    }
    live.signal(libc::SIGINT);
    let run = live.finish();
    run.assert_code(exit::INTERRUPTED)
        .assert_stderr_contains("grab-tickets doctor: interrupted")
        .assert_stdout_lacks("Verdict");
    assert_eq!(listing(dir.path()), before, "{}", run.context());
}
