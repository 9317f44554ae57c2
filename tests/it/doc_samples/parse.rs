//! Finding the samples in a doc. A ```console block is one sample, run from scratch in a fresh
//! directory: each `$ ` line is a command for `sh` (a trailing `\` continues it on the next
//! line), and the lines up to the next `$ ` are what it prints on stdout. Any other block that
//! shows what grab-tickets prints must say, just above it, that the tests do not run it.

use std::fs;
use std::path::Path;

/// What a doc writes just above an output block the tests cannot run (a Ctrl-C by hand, a
/// measurement); either language.
pub(super) const NOT_RUN: [&str; 2] = ["Not run by the tests", "测试不运行"];

/// Lines that only grab-tickets' (or the lesson program's) output begins with.
const OUTPUT_STARTS: [&str; 14] = [
    "Report (",
    "报告（",
    "OK: ",
    "OVERSOLD: ",
    "结果正确：",
    "超卖：",
    "RESULT {",
    "Timeline (",
    "时间线（",
    "Every schedule of",
    "You are the scheduler",
    "你来当调度器",
    "Move which buyer?",
    "10 buyers race for",
];

/// One sample: where it is and its commands, run in order in one directory.
pub(super) struct Sample {
    pub(super) place: String,
    pub(super) steps: Vec<Step>,
}

/// One command of a sample and the lines it prints.
pub(super) struct Step {
    pub(super) command: String,
    pub(super) expected: Vec<String>,
}

/// What a sample needs beyond the binary, python3 and sh.
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub(super) enum Need {
    Nothing,
    /// A database: its commands name `$STORE`.
    Postgres,
    /// A browser: its commands run `chromium`.
    Chromium,
}

impl Sample {
    pub(super) fn need(&self) -> Need {
        let says = |word: &str| self.steps.iter().any(|s| s.command.contains(word));
        if says("$STORE") {
            Need::Postgres
        } else if says("chromium") {
            Need::Chromium
        } else {
            Need::Nothing
        }
    }
}

/// A fenced block: the line of its opening fence (0-based), its info string, its lines.
struct Block<'a> {
    fence: usize,
    info: &'a str,
    lines: Vec<&'a str>,
}

fn blocks(text: &str) -> Vec<Block<'_>> {
    let mut found = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((number, line)) = lines.next() {
        let Some(info) = line.trim_start().strip_prefix("```") else {
            continue;
        };
        let body = lines
            .by_ref()
            .map(|(_, l)| l)
            .take_while(|l| l.trim() != "```")
            .collect();
        found.push(Block {
            fence: number,
            info: info.trim(),
            lines: body,
        });
    }
    found
}

/// Every console sample in the doc at `path`.
pub(super) fn samples(path: &Path) -> Vec<Sample> {
    let text = fs::read_to_string(path).expect("read doc");
    blocks(&text)
        .into_iter()
        .filter(|block| block.info == "console")
        .map(|block| {
            let place = format!("{}:{}", path.display(), block.fence + 1);
            Sample {
                steps: steps(&block.lines, &place),
                place,
            }
        })
        .collect()
}

fn steps(lines: &[&str], place: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut continued = false;
    for line in lines {
        if continued {
            let step = steps.last_mut().expect("a command to continue");
            step.command.push('\n');
            step.command.push_str(line);
            continued = line.ends_with('\\');
        } else if let Some(command) = line.strip_prefix("$ ") {
            steps.push(Step {
                command: command.to_owned(),
                expected: Vec::new(),
            });
            continued = command.ends_with('\\');
        } else {
            steps
                .last_mut()
                .unwrap_or_else(|| panic!("{place}: a console sample starts with `$ `"))
                .expected
                .push((*line).to_owned());
        }
    }
    // A blank line between two commands separates them; no command here ends its output with one.
    for step in &mut steps {
        while step.expected.last().is_some_and(|line| line.is_empty()) {
            step.expected.pop();
        }
    }
    steps
}

/// Whether a line just above `block` says the tests do not run it.
fn marked(all: &[&str], block: &Block<'_>) -> bool {
    all[block.fence.saturating_sub(4)..block.fence]
        .iter()
        .any(|line| NOT_RUN.iter().any(|mark| line.contains(mark)))
}

/// The blocks in the doc at `path` that show grab-tickets' output but are neither a console
/// sample nor marked as not run.
pub(super) fn unchecked_output(path: &Path) -> Vec<String> {
    let text = fs::read_to_string(path).expect("read doc");
    let all: Vec<&str> = text.lines().collect();
    blocks(&text)
        .into_iter()
        .filter(|block| block.info != "console" && !marked(&all, block))
        .filter(|block| {
            block.lines.iter().any(|line| {
                let line = line.trim_start();
                OUTPUT_STARTS.iter().any(|start| line.starts_with(start))
            })
        })
        .map(|block| format!("{}:{}", path.display(), block.fence + 1))
        .collect()
}

/// How many blocks in the doc at `path` are marked as not run.
pub(super) fn not_run(path: &Path) -> usize {
    let text = fs::read_to_string(path).expect("read doc");
    let all: Vec<&str> = text.lines().collect();
    blocks(&text)
        .iter()
        .filter(|block| block.info != "console" && marked(&all, block))
        .count()
}
