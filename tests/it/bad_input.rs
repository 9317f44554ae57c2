//! Bad input gets one clear error naming the file or flag and how to fix it, a documented
//! exit code, and leaves the data file byte-identical.

#[cfg(unix)]
use crate::common::Run;
use crate::common::exit::{BAD_DATA, ENVIRONMENT, USAGE};
use crate::common::{Tally, TestEnv, grab_tickets};
use std::fs;
#[cfg(unix)]
use std::fs::Permissions;
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;
#[cfg(unix)]
use std::os::unix::process::CommandExt;

/// Runs with `flags` against a data file holding `contents`, and checks that the run exits
/// with `code`, names every one of `needles` on stderr, prints nothing on stdout and leaves
/// the data file as it was.
fn rejects(contents: &str, flags: &[&str], code: i32, needles: &[&str]) {
    let env = TestEnv::with_data(contents);
    let run = env.race().args(flags).run();
    run.assert_code(code)
        .assert_stdout_empty()
        .assert_data_untouched();
    for needle in needles {
        run.assert_stderr_contains(needle);
    }
}

/// The lesson's data file with `flags` that must be refused as a usage error naming `needles`.
fn usage_error(flags: &[&str], needles: &[&str]) {
    rejects("{\"ticket_num\": 3}", flags, USAGE, needles);
}

#[test]
fn a_missing_data_file_with_keep_stock_says_how_to_create_it() {
    let env = TestEnv::new();
    let missing = env.path("nope.json");
    let run = grab_tickets().data(&missing).keep_stock().run();
    run.assert_code(BAD_DATA)
        .assert_stderr_contains(&missing.display().to_string())
        .assert_stderr_contains("run without --keep-stock to create it with --tickets N")
        .assert_stderr_contains("echo '{\"ticket_num\": 3}' >")
        .assert_that(!missing.exists(), "the data file was created")
        .assert_that(!env.path("nope.json.lock").exists(), "a stray lock file");
}

#[test]
fn a_missing_data_file_is_created_when_the_stock_is_set() {
    let env = TestEnv::new();
    let missing = env.path("new.json");
    let run = grab_tickets()
        .data(&missing)
        .tickets(2)
        .buyers(3)
        .delay("0..0")
        .json()
        .run();
    run.assert_success()
        .assert_status("ok")
        .assert_tally(Tally::initial(2).confirmed(2).remaining(0).logged(2))
        .assert_tickets_left(0);
}

#[test]
fn a_relative_path_in_a_missing_directory_names_the_directory_it_is_relative_to() {
    let env = TestEnv::new();
    let run = grab_tickets()
        .arg("--data")
        .arg("nowhere/data.json")
        .configure(|cmd| {
            cmd.current_dir(env.dir.path());
        })
        .run();
    run.assert_code(ENVIRONMENT)
        .assert_stderr_contains("directory nowhere (relative to ")
        .assert_stderr_contains("mkdir -p nowhere")
        .assert_that(
            !env.path("nowhere").exists(),
            "the missing directory was created",
        );
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
    let needles = ["has no \"ticket_num\" field"];
    rejects("{\"tickets\": 3}", &[], BAD_DATA, &needles);
}

#[test]
fn a_negative_ticket_num_is_rejected() {
    let needles = ["\"ticket_num\"", "cannot be negative"];
    rejects("{\"ticket_num\": -2}", &[], BAD_DATA, &needles);
    // Minus zero is not negative: the protocol refuses it for its sign.
    let needles = [
        "\"ticket_num\"",
        "is -0, but a whole number is written without a sign",
    ];
    rejects("{\"ticket_num\": -0}", &[], BAD_DATA, &needles);
}

#[test]
fn a_fractional_ticket_num_is_rejected() {
    let needles = ["must be a whole number"];
    rejects("{\"ticket_num\": 2.5}", &[], BAD_DATA, &needles);
}

#[test]
fn a_ticket_num_in_quotes_is_rejected() {
    let needles = ["must be a whole number"];
    rejects("{\"ticket_num\": \"3\"}", &[], BAD_DATA, &needles);
}

#[test]
fn an_absurdly_large_ticket_num_is_rejected() {
    let huge = "{\"ticket_num\": 123456789012345678901234567890}";
    let needles = ["more than the maximum of 1000000000"];
    rejects(huge, &["--keep-stock"], BAD_DATA, &needles);
}

#[test]
fn a_data_file_that_is_not_an_object_is_rejected() {
    rejects("[1, 2, 3]", &[], BAD_DATA, &["is not a JSON object"]);
}

#[test]
fn unknown_fields_are_kept_not_rejected() {
    let env = TestEnv::with_data("{\"venue\": \"hall\", \"ticket_num\": 3, \"note\": [1, 2]}");
    env.race().buyers(2).delay("0..1").quiet().succeeds();
    let data = env.data_json();
    assert_eq!(data["venue"], "hall");
    assert_eq!(data["note"], serde_json::json!([1, 2]));
    assert_eq!(data["ticket_num"], 1);
}

#[test]
fn a_data_path_that_is_a_directory_is_rejected() {
    let env = TestEnv::new();
    let dir = env.path("somedir");
    fs::create_dir(&dir).unwrap();
    grab_tickets()
        .data(&dir)
        .run()
        .assert_code(BAD_DATA)
        .assert_stderr_contains("is a directory; point --data at a JSON file");
}

#[test]
fn a_data_path_ending_in_a_slash_is_refused_before_anything_is_created() {
    let env = TestEnv::new();
    fs::create_dir(env.path("empty")).unwrap();
    fs::create_dir(env.path("empty/sub")).unwrap();
    let typed = [
        "empty/good.json/",
        "empty/sub/",
        "empty/sub/.",
        "empty/sub/..",
    ];
    for path in typed {
        grab_tickets()
            .data(&env.path(path))
            .env("LC_ALL", "C")
            .run()
            .assert_code(BAD_DATA)
            .assert_stderr_contains("so it names a directory, not a file; nothing was created");
        let mut created: Vec<_> = fs::read_dir(env.path("empty"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        created.sort();
        assert_eq!(created, ["sub"], "{path} created files");
        assert_eq!(
            fs::read_dir(env.path("empty/sub")).unwrap().count(),
            0,
            "{path}"
        );
    }
    // The same through a link (Unix: Windows refuses every reparse point), and with explore.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("good.json/", env.path("empty/sub/link")).unwrap();
        grab_tickets()
            .data(&env.path("empty/sub/link"))
            .lang("zh")
            .run()
            .assert_code(BAD_DATA)
            .assert_stderr_contains("指的是目录而不是文件");
    }
    grab_tickets()
        .arg("explore")
        .data(&env.path("empty/good.json/"))
        .env("LC_ALL", "C")
        .run()
        .assert_code(BAD_DATA)
        .assert_stderr_contains("names a directory");
    assert!(!env.path("empty/good.json").exists());
}

#[test]
fn zero_buyers_is_a_usage_error() {
    usage_error(
        &["--buyers", "0"],
        &["--buyers 0 is out of range; use 1 to 1000"],
    );
}

#[test]
fn more_buyers_than_the_maximum_is_a_usage_error() {
    usage_error(&["--buyers", "1001"], &["--buyers 1001 is out of range"]);
}

#[test]
fn a_malformed_delay_is_a_usage_error() {
    usage_error(
        &["--delay-ms", "100-300"],
        &["--delay-ms", "expected LO..HI"],
    );
}

#[test]
fn a_reversed_delay_range_is_a_usage_error() {
    usage_error(
        &["--delay-ms", "300..100"],
        &["LO (300) is greater than HI (100)"],
    );
}

#[test]
fn too_many_tickets_is_a_usage_error() {
    usage_error(
        &["--tickets", "5000000000"],
        &["--tickets 5000000000 is out of range"],
    );
}

#[test]
fn a_damaged_order_log_is_named() {
    let env = TestEnv::new();
    env.sell_tickets(1);
    fs::write(env.order_log(), vec![b'x'; grab_tickets::ORDER_ENTRY_LEN]).unwrap();
    env.race()
        .keep_stock()
        .run()
        .assert_code(BAD_DATA)
        .assert_stderr_contains("failed to parse order log")
        .assert_stderr_contains("data.json.orders")
        .assert_data_untouched();
}

/// Runs as an unprivileged user (root ignores file permissions), in a directory that user
/// may read but not write.
#[cfg(unix)]
fn run_as_nobody(env: &TestEnv) -> Run {
    fs::set_permissions(env.dir.path(), Permissions::from_mode(0o555)).unwrap();
    fs::set_permissions(&env.data, Permissions::from_mode(0o644)).unwrap();
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let run = env
        .race()
        .configure(|cmd| {
            if root {
                cmd.uid(65534).gid(65534);
            }
        })
        .run();
    fs::set_permissions(env.dir.path(), Permissions::from_mode(0o755)).unwrap();
    run
}

// Unix-only: permission bits, and a run as user nobody (root ignores them).
#[cfg(unix)]
#[test]
fn a_directory_that_is_not_writable_is_reported() {
    let env = TestEnv::new();
    run_as_nobody(&env)
        .assert_code(ENVIRONMENT)
        .assert_stderr_contains("failed to open lock file")
        .assert_stderr_contains("Permission denied")
        .assert_stderr_contains("check that you may write to this directory")
        .assert_data_untouched();
}

// Unix-only: permission bits, and a run as user nobody (root ignores them).
#[cfg(unix)]
#[test]
fn a_read_only_directory_with_its_sidecars_in_place_changes_nothing() {
    let env = TestEnv::new();
    env.sell_tickets(1);
    for sidecar in [env.lock_file(), env.order_log()] {
        fs::set_permissions(&sidecar, Permissions::from_mode(0o666)).unwrap();
    }
    let log = fs::read(env.order_log()).unwrap();
    // The restock cannot stage the new data file, and it stages before it logs anything.
    run_as_nobody(&env)
        .assert_code(ENVIRONMENT)
        .assert_stderr_contains("Permission denied")
        .assert_data_untouched();
    assert!(
        fs::read(env.order_log()).unwrap() == log,
        "the order log changed"
    );
}

// Unix-only: permission bits, and a run as user nobody (root ignores them).
#[cfg(unix)]
#[test]
fn a_lock_file_that_is_not_writable_is_reported() {
    let env = TestEnv::new();
    let lock = env.lock_file();
    fs::write(&lock, "").unwrap();
    fs::set_permissions(&lock, Permissions::from_mode(0o444)).unwrap();
    run_as_nobody(&env)
        .assert_code(ENVIRONMENT)
        .assert_stderr_contains(&lock.display().to_string())
        .assert_stderr_contains("Permission denied")
        .assert_data_untouched();
}

#[test]
fn a_negative_number_names_its_flag() {
    for flag in ["--buyers", "--tickets", "--seed", "--lock-timeout"] {
        usage_error(
            &[flag, "-1"],
            &[
                &format!("invalid value '-1' for '{flag} "),
                "it cannot be negative",
            ],
        );
    }
    usage_error(&["--per-buyer", "-2"], &["'--per-buyer <K|all>'", "'-2'"]);
    usage_error(
        &["--delay-ms", "-5..10"],
        &["'--delay-ms <LO..HI>'", "'-5..10'"],
    );
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

#[test]
fn every_error_is_one_line_in_one_style_with_a_hint() {
    let env = TestEnv::new();
    let wrong: [&[&str]; 7] = [
        &["--buyer", "3"],
        &["--tickets", "-1"],
        &["--tickets", "many"],
        &["--buyers", "0"],
        &["--delay-ms", "300..100"],
        &["--data"],
        &[
            "--keep-stock",
            "--data",
            "/nonexistent/grab-tickets/data.json",
        ],
    ];
    for flags in wrong {
        let run = env.race().args(flags).run();
        let stderr = run.stderr();
        run.assert_that(run.code() != Some(0), "it did not fail")
            .assert_that(stderr.lines().count() == 1, "the error is not one line")
            .assert_that(
                stderr.starts_with("grab-tickets: error: "),
                "the error does not start with 'grab-tickets: error: '",
            )
            .assert_that(
                stderr.contains("; "),
                "the error has no hint after the problem",
            );
    }
}

// Unix-only: a FIFO, an AF_UNIX socket file and /dev/null as the data path.
#[cfg(unix)]
#[test]
fn a_fifo_a_device_or_a_socket_as_the_data_path_is_refused_at_once() {
    let env = TestEnv::new();
    let fifo = env.path("fifo.json");
    crate::common::make_fifo(&fifo, 0o644);
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
        // Not `.data(path)`: the builder reads the data file first, and a FIFO would block it.
        // A hang here ends at the run's backstop, as a failure.
        grab_tickets()
            .arg("--data")
            .arg(path)
            .run()
            .assert_code(BAD_DATA)
            .assert_stderr_contains(what)
            .assert_stderr_contains("point --data at a JSON file");
    }
    assert!(!env.path("fifo.json.lock").exists());
}

/// Every file in the run's directory, by name, with its bytes.
fn every_file(env: &TestEnv) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(env.dir.path())
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            (name, fs::read(entry.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_kill_at_for_a_buyer_or_attempt_that_does_not_exist_is_refused_before_anything_changes() {
    let env = TestEnv::with_data("{\"ticket_num\": 3}");
    // A run first, so that the lock file and the order log exist and must stay as they are.
    env.race().buyers(2).quiet().run().assert_success();
    let before = every_file(&env);
    let run = env
        .race()
        .buyers(10)
        .args(["--kill-at", "11:order_logged"])
        .run();
    run.assert_code(USAGE)
        .assert_stdout_empty()
        .assert_stderr_contains("--kill-at 11:order_logged names buyer-11")
        .assert_stderr_contains("this run has 10 buyers (buyer-1 to buyer-10)");
    assert_eq!(every_file(&env), before, "a file changed{}", run.context());
    let run = env
        .race()
        .buyers(3)
        .args(["--kill-at", "2:order_logged:2"])
        .run();
    run.assert_code(USAGE)
        .assert_stderr_contains("names attempt 2, but each buyer makes 1 attempt (--per-buyer 1)");
    assert_eq!(every_file(&env), before, "a file changed{}", run.context());
    let run = env
        .race()
        .lang("zh")
        .buyers(3)
        .args(["--kill-at", "4:order_logged"])
        .run();
    run.assert_code(USAGE)
        .assert_stderr_contains("但这次只有 3 个用户（用户1 到用户3）");
    assert_eq!(every_file(&env), before, "a file changed{}", run.context());
}

#[test]
fn the_database_s_own_answers_without_a_database_are_refused_before_the_race() {
    // With --data given (as every TestEnv race gives it), not only with the default path: the
    // buyers used to start, fail one by one, and the report said "OK: 3 tickets, 0 sold".
    for flag in ["--atomic", "--serializable"] {
        usage_error(
            &[flag],
            &["--atomic and --serializable need a database store"],
        );
    }
}
