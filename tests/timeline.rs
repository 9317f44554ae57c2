//! After a text run the report draws the race: one lane per buyer on a common time axis.

mod common;
use common::TestEnv;

/// The lane of `buyer` between its bars, from a run's stdout.
fn lane(stdout: &str, buyer: u32) -> Option<String> {
    let name = format!("buyer-{buyer} ");
    stdout
        .lines()
        .find(|l| l.starts_with(&name) && l.contains('|'))
        .and_then(|l| l.split('|').nth(1))
        .map(str::to_string)
}

#[test]
fn a_no_lock_run_draws_every_buyer_reading_before_the_first_write() {
    let env = TestEnv::new();
    let run = env.run(&[
        "--no-lock",
        "--buyers",
        "4",
        "--tickets",
        "1",
        "--delay-ms",
        "200..300",
    ]);
    run.assert_code(0);
    run.assert_stdout_contains("Timeline (");
    run.assert_stdout_contains("^ first write (buyer-");
    let stdout = run.stdout();
    let first_write = (1..=4)
        .filter_map(|b| lane(&stdout, b)?.find('W'))
        .min()
        .expect("a write");
    for buyer in 1..=4 {
        let lane = lane(&stdout, buyer).unwrap_or_else(|| panic!("no lane{}", run.context()));
        let read = lane.find('R').expect("a read");
        assert!(read < first_write, "buyer-{buyer}: {lane}{}", run.context());
    }
    assert_eq!(
        stdout.matches("| read 1, wrote 0").count(),
        4,
        "{}",
        run.context()
    );
}

#[test]
fn a_locked_run_draws_waiting_and_holding_with_a_legend() {
    let env = TestEnv::new();
    let run = env.run(&["--buyers", "3", "--delay-ms", "20..30"]);
    run.assert_code(0);
    run.assert_stdout_contains("Legend: . waiting for the lock  = holding the lock");
    let stdout = run.stdout();
    let lanes: Vec<String> = (1..=3).filter_map(|b| lane(&stdout, b)).collect();
    assert_eq!(lanes.len(), 3, "{}", run.context());
    assert!(lanes.iter().any(|l| l.contains('.')), "{}", run.context());
    assert!(!stdout.contains("first write"), "{}", run.context());
}

#[test]
fn locking_only_the_write_draws_reads_outside_the_lock() {
    let env = TestEnv::new();
    let run = env.run(&[
        "--lock-scope",
        "write",
        "--buyers",
        "3",
        "--tickets",
        "1",
        "--delay-ms",
        "200..300",
    ]);
    run.assert_code(0);
    run.assert_stdout_contains("- network delay, no lock");
    for buyer in 1..=3 {
        let lane = lane(&run.stdout(), buyer).expect("a lane");
        // The read comes first, then the delay without the lock, then the locked write.
        let (read, write) = (lane.find('R'), lane.find('W'));
        assert!(read < write && read.is_some(), "{lane}{}", run.context());
        let between = &lane[read.unwrap()..write.unwrap()];
        assert!(between.contains('-'), "{lane}{}", run.context());
        assert!(lane.contains("=W"), "the write is under the lock: {lane}");
    }
}

#[test]
fn a_piped_timeline_has_no_colour_codes() {
    let env = TestEnv::new();
    let run = env.run(&["--buyers", "2", "--delay-ms", "0..2"]);
    run.assert_code(0);
    run.assert_stdout_contains("Timeline (");
    assert!(!run.stdout().contains('\x1b'), "{}", run.context());
}

#[test]
fn quiet_and_json_runs_draw_no_timeline() {
    let env = TestEnv::new();
    for flag in ["--quiet", "--json"] {
        let run = env.run(&[flag, "--buyers", "2", "--delay-ms", "0..2"]);
        run.assert_code(0);
        assert!(!run.stdout().contains("Timeline"), "{}", run.context());
    }
}

#[test]
fn many_buyers_show_forty_lanes_and_count_the_rest() {
    let env = TestEnv::new();
    let run = env.run(&["--buyers", "45", "--delay-ms", "0..0", "--no-fsync"]);
    run.assert_code(0);
    run.assert_stdout_contains("... 5 more buyers not shown");
    assert!(lane(&run.stdout(), 40).is_some(), "{}", run.context());
    assert!(lane(&run.stdout(), 41).is_none(), "{}", run.context());
}
