//! Without the lock (or with the lock around the write only) the race oversells, every time:
//! all buyers start on one starting gun and read long before the first write, because the
//! simulated delay (200 ms or more) dwarfs the spawn jitter (a few ms).

mod common;
use common::{TestEnv, tally};

#[test]
fn no_lock_run_oversells() {
    let env = TestEnv::new();
    let (run, report) = env.run_json(&[
        "--no-lock",
        "--buyers",
        "10",
        "--tickets",
        "3",
        "--delay-ms",
        "200..300",
    ]);
    run.assert_code(0);
    let (initial, confirmed, remaining, _) = tally(&report);
    assert_eq!(initial, 3);
    assert!(confirmed > 3, "expected overselling{}", run.context());
    assert_eq!(report["verdict"]["status"], "oversold", "{}", run.context());
    assert_eq!(report["tally"]["oversold"].as_u64().unwrap(), confirmed - 3);
    // Everyone read 3 and wrote 2: the file forgot all but one sale.
    assert_eq!(remaining, 2, "{}", run.context());
    assert_eq!(env.ticket_num(), 2);
}

#[test]
fn no_lock_report_explains_where_overselling_came_from() {
    let env = TestEnv::new();
    let run = env.run(&[
        "--no-lock",
        "--buyers",
        "5",
        "--tickets",
        "1",
        "--delay-ms",
        "200..250",
    ]);
    run.assert_code(0);
    run.assert_stdout_contains("OVERSOLD: 1 ticket, 5 confirmed (4 oversold)");
    run.assert_stdout_contains("read ticket_num = 1, but another buyer wrote between their read");
}

#[test]
fn locking_only_the_write_still_oversells() {
    let env = TestEnv::new();
    let (run, report) = env.run_json(&[
        "--lock-scope",
        "write",
        "--buyers",
        "6",
        "--tickets",
        "2",
        "--delay-ms",
        "200..300",
    ]);
    run.assert_code(0);
    let (_, confirmed, _, _) = tally(&report);
    assert!(confirmed > 2, "expected overselling{}", run.context());
    let cause = report["verdict"]["cause"].as_str().unwrap_or_default();
    assert!(
        cause.contains("The lock covered only the write"),
        "{}",
        run.context()
    );
}
