//! The docs cannot drift: every ```console sample in README.md and docs/*.md runs, command by
//! command, in a fresh directory (with `data/` and the lesson's program), and what each command
//! prints must match the lines the doc shows (`[..]` any text, `...` any lines: matcher.rs).
//! Samples that name `$STORE` run against the test PostgreSQL cluster, samples that run
//! `chromium` where the browser is; an output block the tests cannot run says so in the doc.
//! And every file those docs link to or name must exist (links.rs).

mod links;
mod matcher;
mod parse;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

#[cfg(unix)]
use crate::common::needs;
#[cfg(unix)]
use crate::pg_cluster;
use parse::{Need, Sample};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Every doc, each checked by its own test below (so they run side by side and a failure names
/// its file).
const DOCS: [&str; 12] = [
    "README.md",
    "docs/exit-codes.md",
    "docs/guarantees.md",
    "docs/guide.md",
    "docs/json.md",
    "docs/lesson.md",
    "docs/lesson.zh.md",
    "docs/performance.md",
    "docs/platforms.md",
    "docs/postgres.md",
    "docs/power-cuts.md",
    "docs/protocol.md",
];

/// The URL postgres.md's samples show for `$STORE` (its throwaway server); the test cluster's
/// real URL is printed as this before matching.
const SHOWN_STORE: &str = "postgres://app@%2Ftmp%2Fpg%2Fsock:5433/shop";

/// How a sample is run: extra environment, and real text to print as the doc shows it.
#[derive(Default)]
struct Setting {
    env: Vec<(&'static str, String)>,
    shown: Vec<(String, &'static str)>,
}

/// A doc's path under the repository.
fn doc(name: &str) -> PathBuf {
    Path::new(ROOT).join(name)
}

fn existing_docs() -> impl Iterator<Item = PathBuf> {
    DOCS.iter()
        .map(|name| doc(name))
        .filter(|path| path.exists())
}

/// Runs one command of a sample in `dir`: `sh -c`, the binary first on PATH, in English unless
/// the command says otherwise, two minutes at most.
fn run_command(dir: &Path, command: &str, setting: &Setting) -> (String, String) {
    let bin = Path::new(env!("CARGO_BIN_EXE_grab-tickets"))
        .parent()
        .expect("the binary's directory");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(
        std::iter::once(bin.to_path_buf()).chain(std::env::split_paths(&path)),
    )
    .expect("a PATH");
    let output = Command::new("timeout")
        .args(["120", "sh", "-c", command])
        .current_dir(dir)
        .env("PATH", path)
        .env("LANG", "en_US.UTF-8")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("LANGUAGE")
        .env_remove("NO_COLOR")
        .env_remove("PGPASSWORD")
        .envs(setting.env.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run sh");
    let mut stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    for (real, shown) in &setting.shown {
        stdout = stdout.replace(real.as_str(), shown);
    }
    (stdout, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// A fresh directory as the docs assume one: `data/` (with the lesson's pristine file) and
/// `lesson/grab_tickets.py`.
fn fresh_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::create_dir(dir.path().join("data")).expect("create data/");
    fs::create_dir(dir.path().join("lesson")).expect("create lesson/");
    for file in ["data/lesson.json", "lesson/grab_tickets.py"] {
        fs::copy(doc(file), dir.path().join(file)).expect("copy a file the docs use");
    }
    dir
}

/// Runs every command of `sample` in order in one fresh directory; the first mismatch, told.
fn run_once(sample: &Sample, setting: &Setting) -> Result<(), String> {
    let dir = fresh_dir();
    for step in &sample.steps {
        let (stdout, stderr) = run_command(dir.path(), &step.command, setting);
        let lines: Vec<&str> = stdout.lines().collect();
        if !matcher::output_matches(&step.expected, &lines) {
            return Err(format!(
                "{}: `{}` printed\n{stdout}\nstderr:\n{stderr}\nbut the sample shows\n{}",
                sample.place,
                step.command,
                step.expected.join("\n"),
            ));
        }
    }
    Ok(())
}

/// How many times a sample may run before it fails.
const RUNS: usize = 3;

/// One sample runs at a time, whichever doc test it belongs to: ten-buyer races started side by
/// side by the doc tests themselves were what pushed a buyer's start past another's write.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs `sample` until it matches, [`RUNS`] times at most: `--seed` fixes every delay but not
/// the kernel's scheduling, and on a machine loaded far past its cores a buyer can start after
/// another's write and the counts change. A number changed in the doc fails every run.
fn check(sample: &Sample, setting: &Setting) {
    let mut failures = Vec::new();
    for attempt in 1..=RUNS {
        let outcome = {
            let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
            run_once(sample, setting)
        };
        match outcome {
            Ok(()) => {
                if attempt > 1 {
                    eprintln!("{}: matched on run {attempt} of {RUNS}", sample.place);
                }
                return;
            }
            Err(told) => failures.push(told),
        }
    }
    panic!(
        "{RUNS} runs, none matched:\n{}",
        failures.join("\n--- the next run:\n")
    );
}

/// Checks the samples of `name` that need nothing beyond the binary; how many there were.
fn check_doc(name: &str) -> usize {
    let samples: Vec<Sample> = parse::samples(&doc(name))
        .into_iter()
        .filter(|sample| sample.need() == Need::Nothing)
        .collect();
    for sample in &samples {
        check(sample, &Setting::default());
    }
    samples.len()
}

/// Every sample in the docs that needs `need`.
fn samples_needing(need: Need) -> Vec<Sample> {
    existing_docs()
        .flat_map(|path| parse::samples(&path))
        .filter(|sample| sample.need() == need)
        .collect()
}

// Unix-only: the samples are POSIX shell commands, run by sh(1).
#[cfg(unix)]
#[test]
fn the_readme_samples_print_what_they_show() {
    assert!(check_doc("README.md") >= 3, "README.md shows three races");
}

// Unix-only: the samples are POSIX shell commands, run by sh(1).
#[cfg(unix)]
#[test]
fn the_guide_samples_print_what_they_show() {
    assert!(check_doc("docs/guide.md") > 0);
}

// Unix-only: the samples are POSIX shell commands, run by sh(1).
#[cfg(unix)]
#[test]
fn the_lesson_samples_print_what_they_show() {
    assert!(check_doc("docs/lesson.md") > 0);
}

// Unix-only: the samples are POSIX shell commands, run by sh(1).
#[cfg(unix)]
#[test]
fn the_chinese_lesson_samples_print_what_they_show() {
    assert!(check_doc("docs/lesson.zh.md") > 0);
}

// Unix-only: the samples are POSIX shell commands, run by sh(1).
#[cfg(unix)]
#[test]
fn the_other_docs_samples_print_what_they_show() {
    for name in DOCS {
        if ![
            "README.md",
            "docs/guide.md",
            "docs/lesson.md",
            "docs/lesson.zh.md",
        ]
        .contains(&name)
            && doc(name).exists()
        {
            check_doc(name);
        }
    }
}

// Unix-only: the PostgreSQL cluster runs as user postgres (runuser(1), a Unix socket).
#[cfg(unix)]
#[test]
fn the_database_samples_print_what_they_show_on_a_test_cluster() {
    let samples = samples_needing(Need::Postgres);
    assert!(!samples.is_empty(), "docs/postgres.md shows runs on $STORE");
    let Some(db) = pg_cluster::database("doc_samples") else {
        return;
    };
    let setting = Setting {
        env: vec![("STORE", db.url())],
        shown: vec![(db.url(), SHOWN_STORE)],
    };
    for sample in &samples {
        check(sample, &setting);
    }
}

// Unix-only: drives Debian's Chromium, which the Windows build cannot start.
#[cfg(unix)]
#[test]
fn the_browser_samples_print_what_they_show_in_chromium() {
    let samples = samples_needing(Need::Chromium);
    if samples.is_empty() {
        return;
    }
    if crate::page::chromium().is_none() {
        needs::Need::Chromium.missing("the docs' browser samples");
        return;
    }
    for sample in &samples {
        check(sample, &Setting::default());
    }
}

#[test]
fn every_doc_is_checked_and_every_output_block_is_run_or_marked() {
    let mut docs: Vec<PathBuf> = fs::read_dir(doc("docs"))
        .expect("read docs/")
        .map(|entry| entry.expect("docs/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    docs.push(doc("README.md"));
    for path in &docs {
        let name = path.strip_prefix(ROOT).expect("under the repository");
        assert!(
            DOCS.iter().any(|known| Path::new(known) == name),
            "{} is not in doc_samples' DOCS, so its samples would not run",
            name.display()
        );
    }
    let unchecked: Vec<String> = existing_docs()
        .flat_map(|path| parse::unchecked_output(&path))
        .collect();
    assert!(
        unchecked.is_empty(),
        "blocks that show grab-tickets' output but are not ```console samples (or marked \
         with a line saying \"{}\" just above):\n{}",
        parse::NOT_RUN[0],
        unchecked.join("\n")
    );
    let run: usize = existing_docs().map(|p| parse::samples(&p).len()).sum();
    let marked: usize = existing_docs().map(|p| parse::not_run(&p)).sum();
    eprintln!("doc samples: {run} run by the tests, {marked} marked as not run");
}
