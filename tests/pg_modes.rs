//! The race and its fixes on a real PostgreSQL server: the same buyers and report as with the
//! data file, the stock in a row, the ledger in an orders table.

mod common;
mod pg_cluster;

use common::{Run, tally};
use serde_json::Value;

/// The binary with `--store URL` and `args`, with `--json`; returns the run and its report.
fn race(url: &str, args: &[&str]) -> (Run, Value) {
    let mut command = std::process::Command::new(common::BIN);
    command.arg("--json").arg("--store").arg(url).args(args);
    let run = Run::of(command);
    let report = run.json();
    (run, report)
}

#[test]
fn smoke() {
    let Some(db) = pg_cluster::database("smoke") else {
        return;
    };
    let (run, report) = race(&db.url(), &["--buyers", "4", "--tickets", "2", "--delay-ms", "0..5"]);
    run.assert_code(0);
    eprintln!("{}", run.stdout());
    assert_eq!(tally(&report), (2, 2, 0, 2));
}
