//! A TestEnv: a temp directory with a data file, and the real binary run against it. When an
//! assertion fails it prints the command, its exit status, stdout and stderr.

#![allow(dead_code)] // Each test file uses a different part of this helper.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_grab-tickets");

pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub data: PathBuf,
}

impl TestEnv {
    /// A fresh directory whose data.json holds the lesson's file: {"ticket_num": 3}.
    pub fn new() -> TestEnv {
        TestEnv::with_data("{\"ticket_num\": 3}\n")
    }

    pub fn with_data(contents: &str) -> TestEnv {
        let dir = tempfile::tempdir().expect("create temp dir");
        let data = dir.path().join("data.json");
        fs::write(&data, contents).expect("write data file");
        TestEnv { dir, data }
    }

    /// The binary with `--data` pointing into this environment, then `args`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("--data").arg(&self.data).args(args);
        cmd.env_remove("NO_COLOR");
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::of(self.command(args))
    }

    /// Runs with `--json` and parses the report.
    pub fn run_json(&self, args: &[&str]) -> (Run, Value) {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let run = self.run(&all);
        let report = run.json();
        (run, report)
    }

    pub fn data_bytes(&self) -> Vec<u8> {
        fs::read(&self.data).expect("read data file")
    }

    pub fn ticket_num(&self) -> u64 {
        let value: Value = serde_json::from_slice(&self.data_bytes()).expect("data file is JSON");
        value["ticket_num"]
            .as_u64()
            .expect("ticket_num is a number")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A finished run of the binary, with everything needed to explain a failed assertion.
pub struct Run {
    pub command: String,
    pub output: Output,
}

impl Run {
    pub fn of(mut cmd: Command) -> Run {
        let command = format!("{cmd:?}");
        let output = cmd.output().expect("run grab-tickets");
        Run { command, output }
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    /// Everything about the run, for assertion messages.
    pub fn context(&self) -> String {
        format!(
            "\n--- command: {}\n--- status: {}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.command,
            self.output.status,
            self.stdout(),
            self.stderr()
        )
    }

    pub fn assert_code(&self, expected: i32) -> &Run {
        assert_eq!(
            self.code(),
            Some(expected),
            "unexpected exit code{}",
            self.context()
        );
        self
    }

    pub fn assert_stderr_contains(&self, needle: &str) -> &Run {
        assert!(
            self.stderr().contains(needle),
            "stderr lacks {needle:?}{}",
            self.context()
        );
        self
    }

    pub fn assert_stdout_contains(&self, needle: &str) -> &Run {
        assert!(
            self.stdout().contains(needle),
            "stdout lacks {needle:?}{}",
            self.context()
        );
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout())
            .unwrap_or_else(|e| panic!("stdout is not one JSON document: {e}{}", self.context()))
    }
}

/// The tally of a `--json` report as (initial, confirmed, remaining, logged).
pub fn tally(report: &Value) -> (u64, u64, u64, u64) {
    let t = &report["tally"];
    let n = |k: &str| {
        t[k].as_u64()
            .unwrap_or_else(|| panic!("tally.{k} missing in {t}"))
    };
    (n("initial"), n("confirmed"), n("remaining"), n("logged"))
}

pub fn exists(path: &Path) -> bool {
    path.exists()
}
