//! A default run of ten buyers, locked or not, fits one 50-line screen with its narration,
//! timeline and report: simultaneous, identical steps are said once. `--verbose` keeps the
//! step-by-step account.

mod common;
use common::TestEnv;

/// Rows the output takes on an 80-column terminal, long lines wrapping.
fn rows(stdout: &str) -> usize {
    stdout
        .lines()
        .map(|line| line.chars().count().div_ceil(80).max(1))
        .sum()
}

#[test]
fn ten_buyers_fit_one_screen_locked_and_unlocked() {
    for extra in [&[][..], &["--no-lock"][..]] {
        let env = TestEnv::new();
        let run = env.run(extra);
        run.assert_code(0)
            .assert_stdout_contains("buyers 1–10 search: all see 3 tickets left")
            .assert_stdout_contains("Timeline (")
            .assert_stdout_contains("Report (race took");
        let stdout = run.stdout();
        assert!(
            rows(&stdout) <= 50,
            "{} rows{}",
            rows(&stdout),
            run.context()
        );
        if extra.is_empty() {
            // Nine buyers waiting for the same holder are one line, not nine.
            assert!(
                stdout.contains(" wait for the lock, held by buyer-"),
                "{}",
                run.context()
            );
            assert_eq!(stdout.matches("for the lock, held by").count(), 1);
        } else {
            assert!(
                stdout.contains("read ticket_num = 3, network delays "),
                "{}",
                run.context()
            );
            assert!(stdout.contains("Why: "), "{}", run.context());
        }
    }
}

#[test]
fn verbose_tells_every_step_on_its_own_line() {
    let env = TestEnv::new();
    let run = env.run(&["--verbose", "--buyers", "4", "--delay-ms", "5..10"]);
    run.assert_code(0);
    let stdout = run.stdout();
    for buyer in 1..=4 {
        let own = |what: &str| {
            stdout
                .lines()
                .filter(|l| l.contains(&format!(" buyer-{buyer} ")) && l.contains(what))
                .count()
        };
        assert_eq!(own("searches: sees"), 1, "{}", run.context());
        assert_eq!(own("reads ticket_num"), 1, "{}", run.context());
        assert_eq!(own("hears the starting gun"), 1, "{}", run.context());
    }
    assert_eq!(stdout.matches("BOUGHT a ticket, confirmed").count(), 3);
}
