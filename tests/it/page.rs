//! `--html FILE` writes one self-contained page that replays the race for a classroom. A real
//! headless Chromium loads it: no console errors, one lane per buyer, stepping changes the
//! ticket counter as the events say, playing moves the race on, the page fits a narrow window,
//! and a screenshot of it is not blank. Without Chromium the browser part says SKIPPED
//! (common/needs.rs); `.ci/run` installs it and requires it, so in CI it fails instead.

#[cfg(unix)]
use crate::common::Race;
use crate::common::TestEnv;
use crate::common::exit::ENVIRONMENT;
#[cfg(unix)]
use crate::common::needs::Need;
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The browser binary, if this machine has one.
pub(crate) fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// The browser, or none after saying the page's browser part is SKIPPED (common/needs.rs).
#[cfg(unix)]
pub(crate) fn browser() -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        Need::Chromium.missing("the page's browser part");
    }
    found
}

/// Writes the page of a quiet race of three buyers for two tickets (`race` sets the rest) to
/// `page`, then finds the browser to load it in.
#[cfg(unix)]
pub(crate) fn small_race_page(race: Race, page: &Path) -> Option<PathBuf> {
    race.buyers(3)
        .tickets(2)
        .delay("0..2")
        .quiet()
        .arg("--html")
        .arg(page)
        .succeeds();
    browser()
}

/// What the browser printed: stdout (the DOM with --dump-dom) and stderr (its log, where
/// console messages appear as "CONSOLE" lines).
pub(crate) struct Browsed {
    pub(crate) dom: String,
    pub(crate) log: String,
}

/// Opens `url` in a fresh headless Chromium with `args` (e.g. --dump-dom); a minute at most.
pub(crate) fn browse(browser: &Path, url: &str, args: &[&str]) -> Browsed {
    let profile = tempfile::tempdir().expect("a profile directory");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox", // CI runs as root, where Chromium refuses to start sandboxed
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut out, &mut text).ok();
        text
    });
    let log_reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut err, &mut text).ok();
        text
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish with {url} within a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Browsed {
        dom: reader.join().unwrap(),
        log: log_reader.join().unwrap(),
    }
}

/// The value of `name` on the page's <body> element, as the page's script left it.
pub(crate) fn body_attribute(dom: &str, name: &str) -> String {
    let body = dom
        .find("<body ")
        .map(|at| &dom[at..at + dom[at..].find('>').unwrap()])
        .unwrap_or_else(|| panic!("no <body> in the DOM:\n{dom}"));
    let key = format!("{name}=\"");
    let start = body
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} on {body}"))
        + key.len();
    body[start..start + body[start..].find('"').unwrap()].to_string()
}

/// Checks one dumped page: no errors recorded by the page or logged by the browser, one lane
/// per buyer, and the counter and step the events say.
fn check_dom(seen: &Browsed, buyers: u64, step: usize, counter: u64) {
    let context = format!("\n--- browser log:\n{}\n--- DOM:\n{}", seen.log, seen.dom);
    assert_eq!(body_attribute(&seen.dom, "data-errors"), "0", "{context}");
    assert!(
        !seen.log.contains(":CONSOLE"),
        "the page wrote to the console{context}"
    );
    assert_eq!(
        seen.dom.matches(" data-buyer=\"").count() as u64,
        buyers,
        "one lane per buyer{context}"
    );
    for buyer in 1..=buyers {
        assert!(
            seen.dom.contains(&format!(">buyer-{buyer}</span>")),
            "no lane named buyer-{buyer}{context}"
        );
    }
    assert_eq!(body_attribute(&seen.dom, "data-step"), step.to_string());
    assert_eq!(
        body_attribute(&seen.dom, "data-counter"),
        counter.to_string(),
        "the counter after {step} steps{context}"
    );
}

/// The page's steps are the events a person watches: all but spawn, start and finish.
fn steps(report: &Value) -> Vec<&Value> {
    report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !["spawned", "started", "finished"].contains(&e["kind"].as_str().unwrap()))
        .collect()
}

/// The count the data file shows after the first `n` steps, from the events alone.
fn counter_after(report: &Value, n: usize) -> u64 {
    steps(report)[..n].iter().fold(
        report["tally"]["initial"].as_u64().unwrap(),
        |count, e| match e["kind"].as_str().unwrap() {
            "wrote" => e["ticket_num"].as_u64().unwrap(),
            "recovered" => e["after"].as_u64().unwrap(),
            _ => count,
        },
    )
}

/// Decodes a PNG and checks that it shows a page, not a blank or a single colour.
fn assert_not_blank(png_path: &Path, width: u32, height: u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).expect("the screenshot exists"),
    ));
    let mut reader = decoder.read_info().expect("the screenshot is a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a sane size")];
    let info = reader.next_frame(&mut pixels).expect("a frame");
    assert_eq!((info.width, info.height), (width, height));
    let channels = info.color_type.samples();
    let rgb: Vec<&[u8]> = pixels[..info.buffer_size()]
        .chunks(channels)
        .map(|p| &p[..3.min(channels)])
        .collect();
    let colours: HashSet<&[u8]> = rgb.iter().copied().collect();
    let background = rgb[0];
    let inked = rgb.iter().filter(|p| **p != background).count();
    assert!(colours.len() >= 16, "only {} colours", colours.len());
    assert!(
        inked * 20 >= rgb.len(),
        "only {inked} of {} pixels differ from the background",
        rgb.len()
    );
}

// Unix-only: drives Debian's Chromium, which the Windows build cannot start.
#[cfg(unix)]
#[test]
fn the_page_replays_the_race_in_a_real_browser() {
    let env = TestEnv::new();
    let page = env.path("race.html");
    let run = env
        .race()
        .buyers(5)
        .tickets(2)
        .delay("5..15")
        .json()
        .arg("--html")
        .arg(&page)
        .succeeds();
    let report = run.report();
    let html = std::fs::read_to_string(&page).expect("the page was written");
    for outside in [
        "http://",
        "https://",
        "<script src",
        "<link",
        "@import",
        "url(",
    ] {
        assert!(!html.contains(outside), "the page loads {outside}");
    }
    assert!(html.contains("<title>5 buyers race for 2 tickets"));

    let Some(browser) = browser() else {
        return;
    };
    let all = steps(report);
    let first_write = all
        .iter()
        .position(|e| e["kind"] == "wrote")
        .expect("a ticket was sold");
    let url = |fragment: String| format!("file://{}#{fragment}", page.display());
    let shot = env.path("race.png");
    // Five browsers at once: each is mostly start-up.
    let (before, after, narrow, end, played) = std::thread::scope(|scope| {
        let dump = |fragment: String, size: &'static str| {
            let url = url(fragment);
            let browser = &browser;
            scope.spawn(move || {
                browse(
                    browser,
                    &url,
                    &["--dump-dom", &format!("--window-size={size}")],
                )
            })
        };
        let before = dump(format!("step={first_write}"), "1280,900");
        let after = dump(format!("step={}", first_write + 1), "1280,900");
        let narrow = dump("step=end".to_string(), "420,900");
        // Virtual time lets the page's clock run without the test waiting for it.
        let play_url = url("play&speed=2".to_string());
        let browser_ref = &browser;
        let played = scope.spawn(move || {
            browse(
                browser_ref,
                &play_url,
                &["--dump-dom", "--virtual-time-budget=10000"],
            )
        });
        let end_url = url("step=end".to_string());
        let screenshot_arg = format!("--screenshot={}", shot.display());
        let browser_ref = &browser;
        let end = scope.spawn(move || {
            browse(
                browser_ref,
                &end_url,
                &[&screenshot_arg, "--window-size=1280,900"],
            )
        });
        (
            before.join().unwrap(),
            after.join().unwrap(),
            narrow.join().unwrap(),
            end.join().unwrap(),
            played.join().unwrap(),
        )
    });

    // Stepping over the first write changes the counter from the stock to what it wrote.
    let stock = report["tally"]["initial"].as_u64().unwrap();
    check_dom(&before, 5, first_write, counter_after(report, first_write));
    assert_eq!(counter_after(report, first_write), stock);
    let written = all[first_write]["ticket_num"].as_u64().unwrap();
    check_dom(&after, 5, first_write + 1, written);
    // The class guesses first: before the last step the verdict and counts are not shown.
    for mid in [&before, &after] {
        assert_eq!(
            body_attribute(&mid.dom, "data-revealed"),
            "0",
            "{}",
            mid.dom
        );
        assert!(
            mid.dom.contains(r#"<div id="result" hidden="">"#),
            "the result is shown before the end:\n{}",
            mid.dom
        );
    }
    assert_eq!(written, stock - 1);
    assert!(
        after
            .dom
            .contains(&format!("writes ticket_num = {written}")),
        "the page tells the step it shows:\n{}",
        after.dom
    );
    // At the end: the report's verdict is beside the lanes, and the page fits a narrow window.
    check_dom(&narrow, 5, all.len(), counter_after(report, all.len()));
    assert_eq!(counter_after(report, all.len()), 0);
    assert_eq!(
        body_attribute(&narrow.dom, "data-revealed"),
        "1",
        "{}",
        narrow.dom
    );
    assert!(
        narrow.dom.contains(r#"<div id="result">"#),
        "{}",
        narrow.dom
    );
    assert!(
        narrow
            .dom
            .contains(report["verdict"]["line"].as_str().unwrap())
    );
    assert_eq!(
        body_attribute(&narrow.dom, "data-overflow"),
        "0",
        "the page is wider than a 420-pixel window:\n{}",
        narrow.dom
    );
    assert!(
        !end.log.contains(":CONSOLE"),
        "console output:\n{}",
        end.log
    );
    assert_not_blank(&shot, 1280, 900);
    // Play moves the race on by itself.
    assert_eq!(
        body_attribute(&played.dom, "data-errors"),
        "0",
        "{}",
        played.log
    );
    // The page's clock runs on timers, which virtual time fires in order whatever the load:
    // ten virtual seconds at double speed play this sub-second race to its end.
    let step: usize = body_attribute(&played.dom, "data-step").parse().unwrap();
    assert_eq!(
        step,
        all.len(),
        "playing did not take the race to its end:\n{}",
        played.dom
    );
}

#[test]
fn a_bad_page_path_fails_before_the_stock_changes() {
    let env = TestEnv::new();
    let missing = env.path("no/such/dir/race.html");
    env.race()
        .arg("--html")
        .arg(&missing)
        .run()
        .assert_code(ENVIRONMENT)
        .assert_stderr_contains("failed to create page")
        .assert_stderr_contains("race.html")
        .assert_data_untouched();
}

/// How many of the page's lanes lie wholly inside a `size` window, at `step`.
fn lanes_in_view(browser: &Path, page: &Path, step: &str, size: &str) -> usize {
    let url = format!("file://{}#step={step}", page.display());
    let seen = browse(
        browser,
        &url,
        &["--dump-dom", &format!("--window-size={size}")],
    );
    assert_eq!(
        body_attribute(&seen.dom, "data-errors"),
        "0",
        "{}",
        seen.log
    );
    body_attribute(&seen.dom, "data-lanes-in-view")
        .parse()
        .unwrap()
}

// Unix-only: drives Debian's Chromium, which the Windows build cannot start.
#[cfg(unix)]
#[test]
fn ten_lanes_fit_a_projector_without_scrolling() {
    let env = TestEnv::new();
    let ten = env.path("ten.html");
    let twenty = env.path("twenty.html");
    for (buyers, page) in [(10, &ten), (20, &twenty)] {
        env.race()
            .buyers(buyers)
            .tickets(5)
            .delay("0..2")
            .quiet()
            .arg("--html")
            .arg(page)
            .succeeds();
    }
    let Some(browser) = browser() else {
        return;
    };
    // A projector's 1280x720, at the start and at the end (when the report is shown too).
    for step in ["0", "end"] {
        assert_eq!(
            lanes_in_view(&browser, &ten, step, "1280,720"),
            10,
            "at step {step}"
        );
    }
    // Twenty lanes do not shrink to fit: most are in view and the rest are a scroll away.
    let shown = lanes_in_view(&browser, &twenty, "end", "1280,720");
    assert!((10..20).contains(&shown), "{shown} of 20 lanes in view");
}

// Unix-only: drives Debian's Chromium, which the Windows build cannot start.
#[cfg(unix)]
#[test]
fn paced_play_moves_one_event_a_second_and_keeps_the_verdict_hidden() {
    let env = TestEnv::new();
    let page = env.path("paced.html");
    let Some(browser) = small_race_page(env.race(), &page) else {
        return;
    };
    // Four and a half virtual seconds of paced play: four events, however fast the race was.
    let url = format!("file://{}#play&speed=step", page.display());
    let seen = browse(
        &browser,
        &url,
        &["--dump-dom", "--virtual-time-budget=4500"],
    );
    let context = format!("\n--- browser log:\n{}\n--- DOM:\n{}", seen.log, seen.dom);
    assert_eq!(body_attribute(&seen.dom, "data-errors"), "0", "{context}");
    assert_eq!(body_attribute(&seen.dom, "data-step"), "4", "{context}");
    assert_eq!(body_attribute(&seen.dom, "data-revealed"), "0", "{context}");
    assert!(
        seen.dom.contains(r#"<div id="result" hidden="">"#),
        "the verdict shows before the end{context}"
    );
}
