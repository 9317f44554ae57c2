//! `--trace` and `--html` never overwrite the shop's own files (the data file, its lock file,
//! its order log), whether named directly, through a symbolic link or as a hard link; and an
//! output is renamed into place whole, so a run that fails leaves the old one as it was.

use std::fs;
#[cfg(unix)]
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use crate::common::TestEnv;
use crate::common::exit::{BAD_DATA, USAGE};

/// Every file in the environment's directory and its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| (e.path(), fs::read(e.path()).unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn an_output_naming_a_shop_file_by_any_path_is_refused_before_anything_changes() {
    let env = TestEnv::new();
    env.sell_tickets(2);
    fs::create_dir(env.path("sub")).unwrap();
    #[cfg_attr(windows, allow(unused_mut))]
    let mut cases: Vec<(&str, PathBuf, &str)> = vec![
        ("--html", env.order_log(), "is the order log"),
        ("--trace", env.data.clone(), "is the data file"),
        ("--trace", env.path("./data.json.lock"), "is the lock file"),
        ("--html", env.path("sub/../data.json"), "is the data file"),
    ];
    // Symbolic links: Unix's (on Windows making one needs a privilege).
    #[cfg(unix)]
    {
        symlink("data.json.orders", env.path("log-link")).unwrap();
        symlink("../data.json", env.path("sub/data-link")).unwrap();
        cases.extend([
            (
                "--html",
                env.path("log-link"),
                "symbolic link to the order log",
            ),
            (
                "--trace",
                env.path("sub/data-link"),
                "symbolic link to the data file",
            ),
        ]);
    }
    for (flag, path, says) in cases {
        let before = snapshot(env.dir.path());
        env.race()
            .arg(flag)
            .arg(&path)
            .keep_stock()
            .delay("0..0")
            .env("LC_ALL", "C")
            .run()
            .assert_code(USAGE)
            .assert_stderr_contains(says)
            .assert_stderr_contains("nothing was changed");
        assert_eq!(
            snapshot(env.dir.path()),
            before,
            "{flag} {}",
            path.display()
        );
    }
}

#[test]
fn an_output_that_is_a_hard_link_to_the_data_file_is_refused() {
    let env = TestEnv::new();
    fs::hard_link(&env.data, env.path("page.html")).unwrap();
    env.race()
        .arg("--html")
        .arg(env.path("page.html"))
        .delay("0..0")
        .env("LC_ALL", "C")
        .run()
        .assert_code(USAGE)
        .assert_stderr_contains("is a hard link to the data file")
        .assert_data_untouched();
    assert!(!env.lock_file().exists() && !env.order_log().exists());
}

#[test]
fn the_refusal_speaks_chinese_too() {
    let env = TestEnv::new();
    env.race()
        .trace(&env.data)
        .delay("0..0")
        .lang("zh")
        .run()
        .assert_code(USAGE)
        .assert_stderr_contains("就是数据文件")
        .assert_data_untouched();
}

#[test]
fn both_outputs_naming_one_file_are_refused() {
    let env = TestEnv::new();
    env.race()
        .trace(&env.path("out"))
        .arg("--html")
        .arg(env.path("./out"))
        .env("LC_ALL", "C")
        .run()
        .assert_code(USAGE)
        .assert_stderr_contains("both name")
        .assert_data_untouched();
    assert!(!env.path("out").exists());
}

#[test]
fn a_run_that_fails_leaves_the_old_outputs_as_they_were() {
    let env = TestEnv::with_data("{\"ticket_num\": \"three\"}\n");
    fs::write(env.path("trace.json"), "old trace").unwrap();
    fs::write(env.path("race.html"), "old page").unwrap();
    env.race()
        .trace(&env.path("trace.json"))
        .arg("--html")
        .arg(env.path("race.html"))
        .keep_stock()
        .env("LC_ALL", "C")
        .run()
        .assert_code(BAD_DATA);
    assert_eq!(
        fs::read_to_string(env.path("trace.json")).unwrap(),
        "old trace"
    );
    assert_eq!(
        fs::read_to_string(env.path("race.html")).unwrap(),
        "old page"
    );
    assert_eq!(
        env.temp_files(),
        Vec::<String>::new(),
        "a temp file was left"
    );
}

// Unix-only: a symbolic link (on Windows making one needs a privilege).
#[cfg(unix)]
#[test]
fn an_output_reached_through_a_link_replaces_the_links_target() {
    let env = TestEnv::new();
    fs::create_dir(env.path("reports")).unwrap();
    fs::write(env.path("reports/race.html"), "old page").unwrap();
    symlink("reports/race.html", env.path("latest.html")).unwrap();
    env.race()
        .arg("--html")
        .arg(env.path("latest.html"))
        .delay("0..0")
        .quiet()
        .succeeds();
    let page = fs::read_to_string(env.path("reports/race.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"), "{page:.80}");
    let link = fs::symlink_metadata(env.path("latest.html")).unwrap();
    assert!(
        link.file_type().is_symlink(),
        "the user's link was replaced"
    );
}
