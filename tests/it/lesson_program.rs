//! lesson/grab_tickets.py, the course's program written in the lesson's style: without a lock
//! it can oversell, with `multiprocessing.Lock` it never does, and its RESULT line is true.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::TestEnv;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/lesson/grab_tickets.py");

/// One finished run of the Python program, with what it printed.
struct Lesson {
    command: String,
    output: Output,
}

impl Lesson {
    fn run(data: &Path, args: &[&str]) -> Lesson {
        let mut command = Command::new("python3");
        command
            .arg(SCRIPT)
            .args(args)
            .arg("--data")
            .arg(data)
            .env("PYTHONIOENCODING", "utf-8");
        let output = command
            .output()
            .expect("python3 runs lesson/grab_tickets.py (python3 is part of the machine)");
        Lesson {
            command: format!("{command:?}"),
            output,
        }
    }

    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    fn context(&self) -> String {
        format!(
            "command: {}\nstatus: {}\nstdout:\n{}\nstderr:\n{}",
            self.command,
            self.output.status,
            self.stdout(),
            String::from_utf8_lossy(&self.output.stderr)
        )
    }

    /// The last line's `RESULT {...}`, after checking the run exited 0.
    fn result(&self) -> Value {
        assert!(
            self.output.status.success(),
            "the lesson program failed\n{}",
            self.context()
        );
        let stdout = self.stdout();
        let line = stdout.lines().last().unwrap_or_default();
        let json = line
            .strip_prefix("RESULT ")
            .unwrap_or_else(|| panic!("the last line is not RESULT {{...}}\n{}", self.context()));
        serde_json::from_str(json).unwrap_or_else(|e| panic!("RESULT: {e}\n{}", self.context()))
    }

    fn count(&self, result: &Value, key: &str) -> u64 {
        result[key]
            .as_u64()
            .unwrap_or_else(|| panic!("RESULT has no count {key:?}\n{}", self.context()))
    }
}

#[test]
fn without_a_lock_the_lesson_program_can_oversell_and_says_so() {
    let env = TestEnv::new();
    // Every buyer reads, then waits half a second before writing: all of them read the one
    // ticket unless the machine takes longer than that to start five processes. A few tries
    // absorb such a machine; the claim is only that it *can* oversell.
    let mut tries = Vec::new();
    for _ in 0..5 {
        let run = Lesson::run(
            &env.data,
            &[
                "--no-lock",
                "--buyers",
                "5",
                "--tickets",
                "1",
                "--delay-ms",
                "500..500",
            ],
        );
        let result = run.result();
        let sold = run.count(&result, "sold");
        let successes = run.stdout().matches("买票成功").count() as u64;
        assert_eq!(
            sold,
            successes,
            "RESULT's sold is the buyers who said 买票成功\n{}",
            run.context()
        );
        assert_eq!(
            run.count(&result, "oversold"),
            sold.saturating_sub(1),
            "{}",
            run.context()
        );
        if sold > 1 {
            return;
        }
        tries.push(run.context());
    }
    panic!(
        "five no-lock runs never oversold:\n{}",
        tries.join("\n----\n")
    );
}

#[test]
fn with_the_lock_the_lesson_program_sells_each_ticket_at_most_once() {
    let env = TestEnv::new();
    for _ in 0..3 {
        let run = Lesson::run(
            &env.data,
            &[
                "--lock",
                "--buyers",
                "6",
                "--tickets",
                "2",
                "--delay-ms",
                "0..20",
            ],
        );
        let result = run.result();
        let sold = run.count(&result, "sold");
        let errors = run.count(&result, "errors");
        // A buyer whose unlocked search caught the file half-written drops out (the lesson's
        // search is outside the lock); every other ticket is sold, and none twice.
        assert!(
            sold <= 2,
            "the lock let {sold} of 2 tickets be sold\n{}",
            run.context()
        );
        assert_eq!(
            sold + run.count(&result, "left"),
            2,
            "sold + left == stock\n{}",
            run.context()
        );
        assert!(
            sold == 2 || errors > 0,
            "a ticket was left with nobody failing\n{}",
            run.context()
        );
        assert_eq!(result["oversold"], 0, "{}", run.context());
        assert_eq!(
            env.ticket_num(),
            run.count(&result, "left"),
            "{}",
            run.context()
        );
    }
}

#[test]
fn the_lesson_program_prints_the_lessons_lines_in_english_too() {
    // One buyer: as in the lesson, a search outside the lock can read a file another buyer is
    // rewriting in place and fail, which is the lesson's point but not this test's.
    let env = TestEnv::new();
    let run = Lesson::run(
        &env.data,
        &[
            "--buyers",
            "1",
            "--tickets",
            "1",
            "--delay-ms",
            "0",
            "--lang",
            "en",
        ],
    );
    let result = run.result();
    let out = run.stdout();
    assert!(
        out.contains("buyer0 is searching; tickets left: "),
        "{}",
        run.context()
    );
    assert_eq!(
        out.matches(" bought a ticket").count(),
        1,
        "{}",
        run.context()
    );
    assert_eq!(result["lock"], "lock", "{}", run.context());
}
