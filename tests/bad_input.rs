//! Bad input gets one clear error naming the file or flag and how to fix it, a documented
//! exit code, and leaves the data file byte-identical.

mod common;
use common::{Run, TestEnv};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;

const BAD_DATA: i32 = 3;
const ENVIRONMENT: i32 = 4;
const USAGE: i32 = 2;

/// Runs with `args` against a data file holding `contents`; checks the exit code, that stderr
/// names `needle`, and that the data file did not change.
fn rejects(contents: &str, args: &[&str], code: i32, needles: &[&str]) -> Run {
    let env = TestEnv::with_data(contents);
    let run = env.run(args);
    run.assert_code(code);
    for needle in needles {
        run.assert_stderr_contains(needle);
    }
    assert_eq!(
        env.data_bytes(),
        contents.as_bytes(),
        "data file changed{}",
        run.context()
    );
    assert!(
        run.stdout().is_empty(),
        "nothing should be printed on stdout{}",
        run.context()
    );
    run
}

#[test]
fn a_missing_data_file_says_how_to_create_it() {
    let env = TestEnv::new();
    let missing = env.path("nope.json");
    let run = common::Run::of({
        let mut cmd = std::process::Command::new(common::BIN);
        cmd.arg("--data").arg(&missing);
        cmd
    });
    run.assert_code(BAD_DATA)
        .assert_stderr_contains(&missing.display().to_string())
        .assert_stderr_contains("does not exist; create it with: echo '{\"ticket_num\": 3}' >");
    assert!(!missing.exists());
    assert!(!env.path("nope.json.lock").exists(), "no stray lock file");
}

#[test]
fn a_data_file_that_is_not_json_names_line_and_column() {
    rejects(
        "{\"ticket_num\": 3,\n oops}\n",
        &[],
        BAD_DATA,
        &["data.json", "line 2 column 2"],
    );
}

#[test]
fn an_empty_data_file_is_not_json() {
    rejects("", &[], BAD_DATA, &["data.json", "EOF while parsing"]);
}

#[test]
fn a_missing_ticket_num_is_named() {
    rejects(
        "{\"tickets\": 3}",
        &[],
        BAD_DATA,
        &["has no \"ticket_num\" field"],
    );
}

#[test]
fn a_negative_ticket_num_is_rejected() {
    rejects(
        "{\"ticket_num\": -2}",
        &[],
        BAD_DATA,
        &["\"ticket_num\"", "cannot be negative"],
    );
}

#[test]
fn a_fractional_ticket_num_is_rejected() {
    rejects(
        "{\"ticket_num\": 2.5}",
        &[],
        BAD_DATA,
        &["must be a whole number"],
    );
}

#[test]
fn a_ticket_num_in_quotes_is_rejected() {
    rejects(
        "{\"ticket_num\": \"3\"}",
        &[],
        BAD_DATA,
        &["must be a whole number"],
    );
}

#[test]
fn an_absurdly_large_ticket_num_is_rejected() {
    rejects(
        "{\"ticket_num\": 123456789012345678901234567890}",
        &["--keep-stock"],
        BAD_DATA,
        &["more than the maximum of 1000000000"],
    );
}

#[test]
fn a_data_file_that_is_not_an_object_is_rejected() {
    rejects("[1, 2, 3]", &[], BAD_DATA, &["is not a JSON object"]);
}

#[test]
fn unknown_fields_are_kept_not_rejected() {
    let env = TestEnv::with_data("{\"venue\": \"hall\", \"ticket_num\": 3, \"note\": [1, 2]}");
    env.run(&["--buyers", "2", "--delay-ms", "0..1", "-q"])
        .assert_code(0);
    let data: serde_json::Value = serde_json::from_slice(&env.data_bytes()).unwrap();
    assert_eq!(data["venue"], "hall");
    assert_eq!(data["note"], serde_json::json!([1, 2]));
    assert_eq!(data["ticket_num"], 1);
}

#[test]
fn a_data_path_that_is_a_directory_is_rejected() {
    let env = TestEnv::new();
    let dir = env.path("somedir");
    std::fs::create_dir(&dir).unwrap();
    let mut cmd = std::process::Command::new(common::BIN);
    cmd.arg("--data").arg(&dir);
    Run::of(cmd)
        .assert_code(BAD_DATA)
        .assert_stderr_contains("is a directory; point --data at a JSON file");
}

#[test]
fn zero_buyers_is_a_usage_error() {
    rejects(
        "{\"ticket_num\": 3}",
        &["--buyers", "0"],
        USAGE,
        &["--buyers 0 is out of range; use 1 to 1000"],
    );
}

#[test]
fn more_buyers_than_the_maximum_is_a_usage_error() {
    rejects(
        "{\"ticket_num\": 3}",
        &["--buyers", "1001"],
        USAGE,
        &["--buyers 1001 is out of range"],
    );
}

#[test]
fn a_malformed_delay_is_a_usage_error() {
    rejects(
        "{\"ticket_num\": 3}",
        &["--delay-ms", "100-300"],
        USAGE,
        &["--delay-ms", "expected LO..HI"],
    );
}

#[test]
fn a_reversed_delay_range_is_a_usage_error() {
    rejects(
        "{\"ticket_num\": 3}",
        &["--delay-ms", "300..100"],
        USAGE,
        &["LO (300) is greater than HI (100)"],
    );
}

#[test]
fn too_many_tickets_is_a_usage_error() {
    rejects(
        "{\"ticket_num\": 3}",
        &["--tickets", "5000000000"],
        USAGE,
        &["--tickets 5000000000 is out of range"],
    );
}

#[test]
fn a_damaged_order_log_is_named() {
    let env = TestEnv::new();
    env.run(&["--buyers", "1", "--delay-ms", "0..0", "-q"])
        .assert_code(0);
    let before = env.data_bytes();
    std::fs::write(env.path("data.json.orders"), vec![b'x'; 160]).unwrap();
    env.run(&["--keep-stock"])
        .assert_code(BAD_DATA)
        .assert_stderr_contains("failed to parse order log")
        .assert_stderr_contains("data.json.orders");
    assert_eq!(env.data_bytes(), before);
}

/// Runs as an unprivileged user (root ignores file permissions), in a directory that user
/// may read but not write.
fn run_as_nobody(env: &TestEnv) -> Run {
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    std::fs::set_permissions(&env.data, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut cmd = env.command(&[]);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        cmd.uid(65534).gid(65534);
    }
    let run = Run::of(cmd);
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    run
}

#[test]
fn a_directory_that_is_not_writable_is_reported() {
    let env = TestEnv::new();
    let before = env.data_bytes();
    run_as_nobody(&env)
        .assert_code(ENVIRONMENT)
        .assert_stderr_contains("failed to open lock file")
        .assert_stderr_contains("Permission denied")
        .assert_stderr_contains("check that you may write to this directory");
    assert_eq!(env.data_bytes(), before);
}

#[test]
fn a_lock_file_that_is_not_writable_is_reported() {
    let env = TestEnv::new();
    let lock = env.path("data.json.lock");
    std::fs::write(&lock, "").unwrap();
    std::fs::set_permissions(&lock, std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = env.data_bytes();
    run_as_nobody(&env)
        .assert_code(ENVIRONMENT)
        .assert_stderr_contains(&lock.display().to_string())
        .assert_stderr_contains("Permission denied");
    assert_eq!(env.data_bytes(), before);
}

#[test]
fn duplicate_keys_are_refused_as_ambiguous() {
    rejects(
        "{\"ticket_num\":-1,\"ticket_num\":3}",
        &[],
        BAD_DATA,
        &[
            "data.json",
            "has the key \"ticket_num\" more than once",
            "keep one of them",
        ],
    );
}

/// Runs `--data path` and waits for it, killing it if it is still running after the
/// backstop (a FIFO used to hang in open()).
fn run_on_special_file(path: &std::path::Path) -> Run {
    let mut child = std::process::Command::new(common::BIN)
        .arg("--data")
        .arg(path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("grab-tickets --data {} hangs", path.display());
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Run {
        command: format!("grab-tickets --data {}", path.display()),
        output: child.wait_with_output().unwrap(),
    }
}

#[test]
fn a_fifo_a_device_or_a_socket_as_the_data_path_is_refused_at_once() {
    let env = TestEnv::new();
    let fifo = env.path("fifo.json");
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
    )
    .unwrap();
    let socket = env.path("socket.json");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let link_to_fifo = env.path("link.json");
    std::os::unix::fs::symlink(&fifo, &link_to_fifo).unwrap();
    for (path, what) in [
        (fifo.as_path(), "is a named pipe (FIFO), not a regular file"),
        (
            link_to_fifo.as_path(),
            "is a named pipe (FIFO), not a regular file",
        ),
        (
            std::path::Path::new("/dev/null"),
            "is a device, not a regular file",
        ),
        (socket.as_path(), "is a socket, not a regular file"),
    ] {
        run_on_special_file(path)
            .assert_code(BAD_DATA)
            .assert_stderr_contains(what)
            .assert_stderr_contains("point --data at a JSON file");
    }
    assert!(!env.path("fifo.json.lock").exists());
}
