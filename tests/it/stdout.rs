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
