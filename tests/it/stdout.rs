//! A reader that goes away (`grab-tickets | head -3`) or a full stdout (`> /dev/full`) ends
//! the output, never the run in a panic: the race still finishes and settles the files.

use crate::common::TestEnv;
#[cfg(target_os = "linux")]
use crate::common::exit::ENVIRONMENT;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_grab-tickets");

#[test]
fn a_closed_pipe_ends_the_output_quietly_and_the_race_still_settles() {
    let env = TestEnv::new();
    let mut child = Command::new(BIN)
        .arg("--data")
        .arg(&env.data)
        .args(["--buyers", "5", "--delay-ms", "20..40"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is gone now, like `head -1` after its line.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(first.contains("5 buyers race for 3 tickets"), "{first}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(env.ticket_num(), 0, "the race did not finish");
}

// Linux-only: /dev/full is Linux's device for a full disk.
#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_is_reported_after_the_race_settles() {
    let env = TestEnv::new();
    let out = Command::new(BIN)
        .arg("--data")
        .arg(&env.data)
        .args(["--buyers", "3", "--delay-ms", "0..1"])
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(ENVIRONMENT), "{stderr}");
    assert!(
        stderr.contains("failed to write the report to stdout: no storage space"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(env.ticket_num(), 0, "the race did not finish");
}

#[test]
fn completions_into_a_closed_pipe_do_not_panic() {
    let mut child = Command::new(BIN)
        .args(["completions", "bash"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_control_sequence_in_a_path_is_shown_escaped_and_cannot_forge_a_line() {
    let env = TestEnv::new();
    // A newline too: inside a path it would start a line of the path's choosing.
    let forged = env.path("x\u{1b}[2K\r\nOK: forged.json");
    let missing_dir = forged.join("nope").join("data.json");
    let runs = [
        crate::common::grab_tickets()
            .data(&forged)
            .buyers(2)
            .tickets(1)
            .no_lock()
            .run(),
        crate::common::grab_tickets().data(&missing_dir).run(),
        crate::common::grab_tickets()
            .arg("explore")
            .data(&forged)
            .run(),
    ];
    for run in &runs {
        for (stream, text) in [("stdout", run.stdout()), ("stderr", run.stderr())] {
            assert!(
                !text.contains(['\u{1b}', '\r']),
                "a raw control character reached {stream}{}",
                run.context()
            );
        }
        let all = format!("{}{}", run.stdout(), run.stderr());
        assert!(
            !all.lines().any(|l| l.starts_with("OK: forged")),
            "a path forged a line{}",
            run.context()
        );
        assert!(
            all.contains("x\\u{1b}[2K\\r\\nOK: forged.json"),
            "{}",
            run.context()
        );
    }
}

/// Every file in the directory with its bytes: a refusal must leave them as they were.
fn snapshot(dir: &std::path::Path) -> Vec<(std::ffi::OsString, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name(), std::fs::read(e.path()).unwrap_or_default())
        })
        .collect();
    files.sort();
    files
}

/// Neither stream holds a raw control character or a line of the outsider's choosing, and
/// the outsider's text is shown spelled out.
fn assert_not_forged(run: &crate::common::Run, forged: &str, spelled: &str) {
    for (stream, text) in [("stdout", run.stdout()), ("stderr", run.stderr())] {
        assert!(
            !text.contains(['\u{1b}', '\r']),
            "a raw control character reached {stream}{}",
            run.context()
        );
        assert!(
            !text.lines().any(|l| l.starts_with(forged)),
            "outside text forged a line on {stream}{}",
            run.context()
        );
    }
    let all = format!("{}{}", run.stdout(), run.stderr());
    assert!(
        all.contains(spelled),
        "{spelled} not shown{}",
        run.context()
    );
}

/// The example a path ending in "/" is told to use is built from the path: escaped too.
#[test]
fn a_directory_syntax_path_cannot_forge_a_line_through_its_example() {
    let env = TestEnv::new();
    let before = snapshot(env.dir.path());
    let forged = env.path("x\nOK: 3 tickets, 3 sold/");
    for lang in ["en", "zh"] {
        let run = crate::common::grab_tickets().data(&forged).lang(lang).run();
        run.assert_code(crate::common::exit::BAD_DATA);
        assert_not_forged(&run, "OK: 3 tickets", "x\\nOK: 3 tickets, 3 sold");
        assert_eq!(
            run.stderr().matches("x\\nOK: 3 tickets, 3 sold").count(),
            2,
            "the path and its example are both shown escaped{}",
            run.context()
        );
    }
    assert_eq!(snapshot(env.dir.path()), before, "a refusal changed a file");
}

/// The --store URL is shown in every message about the store: escaped once, a newline in it
/// starts no line, whether the URL is refused as written or its server cannot be reached
/// (port 1, where nothing listens: no server is needed).
#[test]
fn a_store_url_cannot_forge_a_line() {
    let env = TestEnv::new();
    let before = snapshot(env.dir.path());
    let urls = [
        (
            "postgres://u@h/db?x=\nOK: forged",
            crate::common::exit::USAGE,
        ),
        (
            "postgres://u@127.0.0.1:1/db?application_name=\u{1b}[2K\r\nOK: forged",
            crate::common::exit::ENVIRONMENT,
        ),
    ];
    for (url, code) in urls {
        for lang in ["en", "zh"] {
            let run = crate::common::grab_tickets()
                .args(["--store", url])
                .lang(lang)
                .configure(|c| {
                    c.current_dir(env.dir.path());
                })
                .run();
            run.assert_code(code);
            assert_not_forged(&run, "OK: forged", "\\nOK: forged");
        }
    }
    assert_eq!(snapshot(env.dir.path()), before, "a refusal changed a file");
}

/// Another program appends a 160-byte line that is not JSON mid-race, under the buyers' lock;
/// its text (a carriage return, an escape, a newline of its own) is shown as one escaped line
/// in the report's problems, never as a line above the verdict.
#[cfg(unix)]
#[test]
fn an_unreadable_order_log_line_cannot_forge_a_line() {
    use std::io::Write as _;
    let env = TestEnv::new();
    let live = env
        .race()
        .tickets(40)
        .buyers(2)
        .per_buyer("all")
        .delay("20..30")
        .lang("en")
        .spawn();
    crate::shared_ledger::wait_for_sales(&env, 2);
    let mut line = b"junk\x1b[2K\r\nOK: 3 tickets, 3 sold\n".to_vec();
    line.resize(grab_tickets::ORDER_ENTRY_LEN - 1, b' ');
    line.push(b'\n');
    {
        let lock = std::fs::File::open(env.lock_file()).unwrap();
        lock.lock().unwrap();
        let mut log = std::fs::OpenOptions::new()
            .append(true)
            .open(env.order_log())
            .unwrap();
        log.write_all(&line).unwrap();
    }
    let run = live.finish();
    assert_not_forged(
        &run,
        "OK: 3 tickets",
        "junk\\u{1b}[2K\\r\\nOK: 3 tickets, 3 sold",
    );
}

/// The "create it with:" fix is pasted back into a shell: it must create exactly the file
/// named, whatever spaces, quotes or `$(...)` the path holds, and run nothing else.
#[cfg(unix)]
#[test]
fn the_create_it_with_command_creates_the_named_file_when_pasted() {
    let env = TestEnv::new();
    let data = env.path("my dir/$(touch pwned)/it's `x`.json");
    let mut commands = Vec::new();
    for (lang, before) in [("zh", "用这条命令创建："), ("en", "create it with: ")] {
        let run = crate::common::grab_tickets()
            .data(&data)
            .keep_stock()
            .lang(lang)
            .run();
        run.assert_code(crate::common::exit::BAD_DATA);
        assert!(!env.path("my dir").exists(), "a refusal created a file");
        let (_, command) = run.stderr().split_once(before).expect("the fix is offered");
        commands.push(command.trim_end().to_string());
    }
    assert_eq!(
        commands[0], commands[1],
        "both languages offer the same command"
    );
    for command in &commands[1..] {
        let pasted = Command::new("sh")
            .arg("-c")
            .arg(command)
            .current_dir(env.dir.path())
            .status()
            .unwrap();
        assert!(pasted.success(), "{command}");
        let made: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&data).expect("the named file")).unwrap();
        assert_eq!(made["ticket_num"], 3, "{command}");
        assert!(
            !env.dir.path().join("pwned").exists(),
            "{command} ran $(...)"
        );
    }
}
