//! The class's language: `--lang`, else LC_ALL / LC_MESSAGES / LANG, chooses English or
//! Chinese for everything a person reads, errors and their hints included; `--json` stays
//! one language-neutral document.

use crate::common::TestEnv;
use serde_json::Value;

#[test]
fn the_same_schedule_gives_the_same_json_in_both_languages() {
    let schedule = "1s 2s 1r 2r 1w 2w";
    let json = |lang: &str| {
        let env = TestEnv::new();
        let run = env
            .race()
            .env("LANG", if lang == "zh" { "zh_CN.UTF-8" } else { "C" })
            .buyers(2)
            .tickets(1)
            .no_lock()
            .args(["--schedule", schedule])
            .json()
            .run();
        let doc: Value = serde_json::from_str(run.stdout()).expect("JSON");
        (doc["tally"].clone(), doc["verdict"].clone())
    };
    let (en, zh) = (json("en"), json("zh"));
    assert_eq!(en.0, zh.0, "the tally differs");
    assert_eq!(en.1["status"], "oversold");
    assert_eq!(en.1, zh.1, "the verdict differs");
}

#[test]
fn the_language_comes_from_the_flag_then_the_locale() {
    let env = TestEnv::new();
    let by_lang = env.race().env("LANG", "zh_CN.UTF-8").quiet().run();
    by_lang.assert_stdout_contains("结果正确：3 张票");
    let by_lc_all = env
        .race()
        .env("LANG", "zh_CN.UTF-8")
        .env("LC_ALL", "C")
        .quiet()
        .run();
    by_lc_all.assert_stdout_contains("OK: 3 tickets");
    let by_flag = env
        .race()
        .env("LANG", "en_US.UTF-8")
        .lang("zh")
        .quiet()
        .run();
    by_flag
        .assert_stdout_contains("报告（抢票用时")
        .assert_stdout_contains("买票成功");
}

#[test]
fn the_headline_spaces_a_count_but_not_a_phrase_in_chinese() {
    let env = TestEnv::new();
    let set = env.race().buyers(2).lang("zh").run();
    set.assert_stdout_contains("2 个用户抢 3 张票（");
    let kept = env.race().buyers(2).keep_stock().lang("zh").run();
    kept.assert_stdout_contains("2 个用户抢库存里现有的票（");
}

#[test]
fn a_broken_data_file_is_refused_in_chinese_with_its_hint_and_left_as_it_was() {
    let env = TestEnv::with_data("oops\n");
    let run = env.race().lang("zh").keep_stock().run();
    run.assert_code(3)
        .assert_stderr_contains("grab-tickets：错误：无法解析数据文件")
        .assert_stderr_contains("它应该是一个 JSON 对象，比如 {\"ticket_num\": 3}");
    assert_eq!(std::fs::read(&env.data).unwrap(), b"oops\n");
}

#[test]
fn explore_and_its_board_speak_chinese() {
    let env = TestEnv::new();
    let summary = crate::common::grab_tickets()
        .env("LANG", "zh_CN.UTF-8")
        .args(["explore", "--no-lock", "--data"])
        .arg(&env.data)
        .run();
    summary
        .assert_success()
        .assert_stdout_contains("2 个用户抢 1 张票（不加锁）的每一种调度。")
        .assert_stdout_contains("第一个出错的调度")
        .assert_stdout_contains("原因：")
        .assert_stdout_lacks("原因： ")
        .assert_stdout_contains("超卖：1 张票")
        .assert_stdout_contains(
            "20 种交错中有 12 种超卖（60%）；按可交换的步骤归并，它们是 6 种不同的调度，其中 2 种出错",
        );
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine: a process takes about 0.3 s to start (Linux: 1 ms), so exploring every schedule outlasts the 60 s backstop"
)]
fn explore_counts_every_interleaving_and_the_distinct_schedules_in_both_languages() {
    let env = TestEnv::new();
    let explore = |lang: &str, extra: &[&str]| {
        let run = crate::common::grab_tickets()
            .env("LC_ALL", "C")
            .args([
                "explore",
                "--no-lock",
                "--no-fsync",
                "--buyers",
                "3",
                "--lang",
                lang,
            ])
            .args(extra)
            .arg("--data")
            .arg(&env.data)
            .run();
        run.assert_success();
        run
    };
    explore("en", &[]).assert_stdout_contains(
        "1008 of 1152 interleavings oversell (87.5 %); they fall into 48 distinct schedules up \
         to moves that commute, 36 of them bad",
    );
    explore("zh", &[]).assert_stdout_contains(
        "1152 种交错中有 1008 种超卖（87.5%）；按可交换的步骤归并，它们是 48 种不同的调度，其中 36 种出错",
    );
    let json = |lang: &str| -> Value {
        serde_json::from_str(explore(lang, &["--json"]).stdout()).expect("JSON")
    };
    let (en, zh) = (json("en"), json("zh"));
    let all = &en["interleavings"];
    assert_eq!(
        [
            &all["total"],
            &all["bad"],
            &all["oversold"],
            &all["lost_updates"],
            &all["ok"],
            &all["mismatch"]
        ],
        [1152, 1008, 1008, 0, 144, 0].map(Value::from).each_ref(),
        "{en}"
    );
    // The text's second figure has the text's name: 48 distinct schedules, 36 of them bad.
    assert_eq!(
        (&en["schedules"], &en["distinct"], &en["bad"]),
        (&Value::from(48), &Value::from(48), &Value::from(36))
    );
    assert_eq!(en["interleavings"], zh["interleavings"]);
    assert_eq!(en["distinct"], zh["distinct"]);
}

#[test]
fn the_help_speaks_chinese_too() {
    let help = crate::common::grab_tickets().lang("zh").arg("--help").run();
    help.assert_success()
        .assert_stdout_contains("用法：grab-tickets")
        .assert_stdout_contains("启动的用户进程数")
        .assert_stdout_contains("将并发变成串行");
    let explore = crate::common::grab_tickets()
        .env("LANG", "zh_CN.UTF-8")
        .args(["explore", "--help"])
        .run();
    explore
        .assert_success()
        .assert_stdout_contains("你自己当调度器");
    let english = crate::common::grab_tickets().arg("--help").run();
    english.assert_stdout_contains("Usage: grab-tickets");
    // Clap's own words too: its value notes, its help subcommand, and that command's page.
    for args in [
        &["--help"][..],
        &["-h"],
        &["explore", "--help"],
        &["doctor", "--help"],
        &["completions", "--help"],
        &["man", "--help"],
        &["help"],
        &["help", "help"],
    ] {
        let run = crate::common::grab_tickets()
            .env("LC_ALL", "zh_CN.UTF-8")
            .args(args)
            .run();
        run.assert_success();
        for english in [
            "[default:",
            "ossible values",
            "Print this message",
            "Usage:",
            "Commands:",
            "Options:",
        ] {
            run.assert_stdout_lacks(english);
        }
    }
    crate::common::grab_tickets()
        .lang("zh")
        .arg("--help")
        .run()
        .assert_stdout_contains("[默认：whole] [可选值：whole、write、none]")
        .assert_stdout_contains("help         打印这份帮助，或某个子命令的帮助");
}

/// Three English words in a row: a sentence of ours left in English. What the OS says in
/// its own words ("No such file or directory (os error 2)") is cut out first: it is quoted.
fn english_sentence(line: &str) -> Option<String> {
    let mut ours = line.to_string();
    while let Some(at) = ours.find(" (os error ") {
        let start = ours[..at].rfind('：').map_or(0, |i| i + '：'.len_utf8());
        let end = ours[at..].find(')').map_or(ours.len(), |i| at + i + 1);
        ours.replace_range(start..end, "");
    }
    let word = |w: &&str| w.len() > 1 && w.chars().all(|c| c.is_ascii_alphabetic());
    let words: Vec<&str> = ours
        .split(|c: char| c.is_whitespace() || !c.is_ascii() || c == ',' || c == ';')
        .collect();
    words
        .windows(3)
        .find(|w| w.iter().all(word))
        .map(|w| w.join(" "))
}

#[test]
fn every_refusal_of_bad_input_is_in_chinese() {
    let env = TestEnv::new();
    let dir = env.path("a-dir");
    std::fs::create_dir(&dir).unwrap();
    env.sell_tickets(1);
    let entry = vec![b'x'; grab_tickets::ORDER_ENTRY_LEN];
    std::fs::write(env.order_log(), entry).unwrap();
    let data = |contents: &str, name: &str| {
        let path = env.path(name);
        std::fs::write(&path, contents).unwrap();
        path.display().to_string()
    };
    let keep = |path: String| vec!["--keep-stock".to_string(), "--data".into(), path];
    let flags = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let cases: Vec<Vec<String>> = vec![
        keep(data("oops", "a.json")),
        keep(data("{}", "b.json")),
        keep(data("{\"ticket_num\": -1}", "c.json")),
        keep(data("{\"ticket_num\": 1.5}", "d.json")),
        keep(data("[3]", "e.json")),
        keep(data("{\"ticket_num\": 1, \"ticket_num\": 2}", "f.json")),
        keep(env.path("missing.json").display().to_string()),
        keep(env.data.display().to_string()),
        flags(&["--data", &dir.display().to_string()]),
        flags(&["--data", &format!("{}/", dir.display())]),
        flags(&["--data", "/nonexistent/grab-tickets/data.json"]),
        flags(&["--buyer", "3"]),
        flags(&["--buyers", "0"]),
        flags(&["--tickets", "-1"]),
        flags(&["--tickets", "many"]),
        flags(&["--delay-ms", "300..100"]),
        flags(&["--delay-ms", "soon"]),
        flags(&["--per-buyer", "0"]),
        flags(&["--lock-scope", "half"]),
        flags(&["--data"]),
        flags(&["--buyers", "3", "--kill-at", "4:order_logged"]),
        flags(&["--kill-at", "2:nowhere"]),
        flags(&["--schedule", "1x"]),
        flags(&["--buyers", "2", "--schedule", "3s"]),
        flags(&["--no-lock", "--schedule", "1s 1l"]),
        flags(&["--store", "http://db/shop"]),
        flags(&["--store", "postgres://app@127.0.0.1:1/shop"]),
        flags(&["--trace", "same.html", "--html", "same.html"]),
        flags(&["completions", "nosh"]),
        flags(&["--atomic"]),
        flags(&[
            "explore",
            "--depth",
            "2",
            "--sampler",
            "uniform",
            "--random",
            "3",
        ]),
        flags(&["explore", "--buyers", "9"]),
    ];
    for args in cases {
        let run = crate::common::grab_tickets()
            .env("LANG", "zh_CN.UTF-8")
            .env("LC_ALL", "zh_CN.UTF-8")
            .args(&args)
            .run();
        let stderr = run.stderr().trim_end();
        run.assert_that(run.code() != Some(0), "it did not fail")
            .assert_that(
                stderr.starts_with("grab-tickets：错误："),
                "the error is not in Chinese",
            );
        if let Some(words) = english_sentence(stderr) {
            run.assert_that(false, format!("English left in {args:?}: '{words}'"));
        }
    }
    assert_eq!(
        english_sentence("grab-tickets：错误：failed to read data file x"),
        Some("failed to read".to_string()),
        "the check itself finds English"
    );
}
