//! A default run of ten buyers, locked or not, fits one 50-line screen with its narration,
//! timeline and report: simultaneous, identical steps are said once. `--verbose` keeps the
//! step-by-step account.

use crate::common::TestEnv;

/// Rows the output takes on an 80-column terminal, long lines wrapping; a Chinese character
/// takes two columns.
fn rows(stdout: &str) -> usize {
    stdout
        .lines()
        .map(|line| {
            unicode_width::UnicodeWidthStr::width(line)
                .div_ceil(80)
                .max(1)
        })
        .sum()
}

#[test]
#[cfg_attr(
    windows,
    ignore = "assumes Unix's short /tmp: in Windows' C:\\users\\…\\AppData\\Local\\Temp the two lines naming the data file wrap once more (51 rows)"
)]
fn ten_buyers_fit_one_screen_in_chinese_too() {
    for locked in [true, false] {
        let env = TestEnv::new();
        let race = env.race().env("LANG", "zh_CN.UTF-8");
        let race = if locked { race } else { race.no_lock() };
        let run = race.succeeds();
        run.assert_stdout_contains("用户 1–10 查票：看到的余票都是 3")
            .assert_stdout_contains("时间线（")
            .assert_stdout_contains("报告（抢票用时")
            .assert_stdout_contains("图例：");
        let stdout = run.stdout();
        run.assert_that(
            rows(stdout) <= 50,
            format!("{} rows on an 80-column screen", rows(stdout)),
        );
        let widest = stdout
            .lines()
            .filter(|l| l.contains('|'))
            .map(unicode_width::UnicodeWidthStr::width)
            .max()
            .unwrap_or(0);
        run.assert_that(
            widest <= 80,
            format!("a timeline lane is {widest} columns wide"),
        );
        if locked {
            run.assert_stdout_contains("等锁，锁在用户");
        } else {
            // A full-width colon carries its own space.
            run.assert_stdout_contains("原因：")
                .assert_stdout_lacks("原因： ")
                .assert_stdout_contains("超卖");
        }
    }
}

#[test]
#[cfg_attr(
    windows,
    ignore = "assumes Unix's short /tmp: in Windows' C:\\users\\…\\AppData\\Local\\Temp the two lines naming the data file wrap once more (52 rows)"
)]
fn ten_buyers_fit_one_screen_locked_and_unlocked() {
    for locked in [true, false] {
        let env = TestEnv::new();
        let race = if locked {
            env.race()
        } else {
            env.race().no_lock()
        };
        let run = race.succeeds();
        run.assert_stdout_contains("buyers 1–10 search: each sees 3 tickets left")
            .assert_stdout_contains("Timeline (")
            .assert_stdout_contains("Report (race took");
        let stdout = run.stdout();
        run.assert_that(
            rows(stdout) <= 50,
            format!("{} rows on an 80-column screen", rows(stdout)),
        );
        if locked {
            // Nine buyers waiting for the same holder are one line, not nine.
            run.assert_stdout_contains(" wait for the lock, held by buyer-")
                .assert_that(
                    stdout.matches("for the lock, held by").count() == 1,
                    "the waits are not one line",
                );
        } else {
            run.assert_stdout_contains("read ticket_num = 3, network delays ")
                .assert_stdout_contains("Why: ");
        }
    }
}

#[test]
fn verbose_tells_every_step_on_its_own_line() {
    let env = TestEnv::new();
    let run = env.race().verbose().buyers(4).delay("5..10").succeeds();
    let stdout = run.stdout();
    for buyer in 1..=4 {
        let own = |what: &str| {
            stdout
                .lines()
                .filter(|l| l.contains(&format!(" buyer-{buyer} ")) && l.contains(what))
                .count()
        };
        for step in [
            "searches: sees",
            "reads ticket_num",
            "hears the starting gun",
        ] {
            run.assert_that(
                own(step) == 1,
                format!("buyer-{buyer} {step}: not one line"),
            );
        }
    }
    run.assert_that(
        stdout.matches("BOUGHT a ticket, confirmed").count() == 3,
        "not one line per sale",
    );
}
