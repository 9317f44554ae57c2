//! `grab-tickets explore` and `--schedule`, through the real binary: every schedule of a small
//! race, exact replay of a printed schedule, sampling from a seed, and the interactive game
//! driven by stdin. The pure model below counts the same schedules without a single process;
//! the real explorer must agree with it exactly.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use crate::common::{Run, TestEnv, exit, grab_tickets};
use serde_json::Value;

/// A pure model of the race's moves: no processes, no files, just the rules.
mod model {
    use std::collections::HashMap;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub(super) enum Mv {
        Search,
        Lock,
        Read,
        Write,
        Unlock,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum Scope {
        None,
        Write,
        Whole,
    }

    /// A move of one buyer (numbered from 0 here).
    pub(super) type Turn = (usize, Mv);

    #[derive(Clone)]
    struct State {
        count: u64,
        holder: Option<usize>,
        waiter: Option<usize>,
        /// How many moves each buyer has made.
        made: Vec<usize>,
        /// What each buyer read, once it has.
        seen: Vec<Option<u64>>,
        sales: u64,
    }

    /// A buyer's moves: search, then the purchase; one that reads 0 stops (and, holding the
    /// whole-purchase lock, releases it without writing).
    fn moves(scope: Scope, seen: Option<u64>) -> Vec<Mv> {
        use Mv::*;
        let buys = seen != Some(0);
        match (scope, buys) {
            (Scope::None, true) => vec![Search, Read, Write],
            (Scope::None, false) => vec![Search, Read],
            (Scope::Write, true) => vec![Search, Read, Lock, Write, Unlock],
            (Scope::Write, false) => vec![Search, Read],
            (Scope::Whole, true) => vec![Search, Lock, Read, Write, Unlock],
            (Scope::Whole, false) => vec![Search, Lock, Read, Unlock],
        }
    }

    fn next(state: &State, scope: Scope, buyer: usize) -> Option<Mv> {
        if state.waiter == Some(buyer) {
            return None; // blocked in flock
        }
        let mv = *moves(scope, state.seen[buyer]).get(state.made[buyer])?;
        // One buyer waits for the lock at a time.
        (mv != Mv::Lock || state.waiter.is_none()).then_some(mv)
    }

    fn step(state: &State, (buyer, mv): Turn) -> State {
        let mut s = state.clone();
        match mv {
            Mv::Search => {}
            Mv::Read => s.seen[buyer] = Some(s.count),
            Mv::Write => {
                s.count = s.seen[buyer].expect("read before writing") - 1;
                s.sales += 1;
            }
            Mv::Lock if s.holder.is_none() => s.holder = Some(buyer),
            Mv::Lock => s.waiter = Some(buyer),
            Mv::Unlock => s.holder = s.waiter.take(),
        }
        s.made[buyer] += 1;
        s
    }

    fn on_the_lock(mv: Mv, scope: Scope) -> bool {
        match mv {
            Mv::Lock | Mv::Unlock => true,
            Mv::Read => scope == Scope::Whole,
            Mv::Write => scope != Scope::None,
            Mv::Search => false,
        }
    }

    /// Moves whose order can matter: one buyer's, two on the lock, a write and a file access.
    fn dependent(a: Turn, b: Turn, scope: Scope) -> bool {
        let touches_file = |mv| matches!(mv, Mv::Search | Mv::Read | Mv::Write);
        a.0 == b.0
            || (on_the_lock(a.1, scope) && on_the_lock(b.1, scope))
            || (a.1 == Mv::Write && touches_file(b.1))
            || (b.1 == Mv::Write && touches_file(a.1))
    }

    /// The class of a schedule: its lexicographically least reordering that keeps every
    /// dependent pair in order.
    fn class_of(schedule: &[Turn], scope: Scope) -> Vec<Turn> {
        let mut placed = vec![false; schedule.len()];
        let mut class = Vec::new();
        while class.len() < schedule.len() {
            let free = (0..schedule.len())
                .filter(|&j| !placed[j])
                .filter(|&j| {
                    (0..j).all(|i| placed[i] || !dependent(schedule[i], schedule[j], scope))
                })
                .min_by_key(|&j| schedule[j])
                .unwrap();
            placed[free] = true;
            class.push(schedule[free]);
        }
        class
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum Status {
        Ok,
        Oversold,
        LostUpdates,
    }

    /// Every complete schedule, and how many distinct races (classes) they make.
    #[derive(Debug, PartialEq, Eq)]
    pub(super) struct Counts {
        pub orders: u64,
        pub schedules: u64,
        pub oversold: u64,
        pub lost_updates: u64,
        pub ok: u64,
        /// Every complete schedule (not class) by how it ended: oversold, lost updates, ok.
        pub interleavings: [u64; 3],
    }

    pub(super) fn count(buyers: usize, tickets: u64, scope: Scope) -> Counts {
        let start = State {
            count: tickets,
            holder: None,
            waiter: None,
            made: vec![0; buyers],
            seen: vec![None; buyers],
            sales: 0,
        };
        let mut classes: HashMap<Vec<Turn>, Status> = HashMap::new();
        let mut orders = 0;
        let mut interleavings = [0; 3];
        let mut path = Vec::new();
        walk(&start, scope, tickets, &mut path, &mut |path, status| {
            orders += 1;
            interleavings[match status {
                Status::Oversold => 0,
                Status::LostUpdates => 1,
                Status::Ok => 2,
            }] += 1;
            let previous = classes.insert(class_of(path, scope), status);
            assert!(
                previous.is_none_or(|p| p == status),
                "two orders of one race ended differently: {path:?}"
            );
        });
        let with = |status| classes.values().filter(|s| **s == status).count() as u64;
        Counts {
            orders,
            schedules: classes.len() as u64,
            oversold: with(Status::Oversold),
            lost_updates: with(Status::LostUpdates),
            ok: with(Status::Ok),
            interleavings,
        }
    }

    fn walk(
        state: &State,
        scope: Scope,
        tickets: u64,
        path: &mut Vec<Turn>,
        done: &mut dyn FnMut(&[Turn], Status),
    ) {
        let buyers = state.made.len();
        let movable: Vec<Turn> = (0..buyers)
            .filter_map(|b| Some((b, next(state, scope, b)?)))
            .collect();
        if movable.is_empty() {
            assert!(state.waiter.is_none(), "stuck: {path:?}");
            let status = if state.sales > tickets {
                Status::Oversold
            } else if state.sales > tickets - state.count {
                Status::LostUpdates
            } else {
                Status::Ok
            };
            done(path, status);
            return;
        }
        for turn in movable {
            path.push(turn);
            walk(&step(state, turn), scope, tickets, path, done);
            path.pop();
        }
    }
}

use model::Scope;

fn explore(env: &TestEnv, args: &[&str]) -> Run {
    grab_tickets()
        .arg("explore")
        .data(&env.data)
        .args(args)
        .run()
}

fn explore_json(env: &TestEnv, args: &[&str]) -> (Run, Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let run = explore(env, &all);
    run.assert_success();
    let doc = run.report().clone();
    (run, doc)
}

fn scope_args(scope: Scope) -> &'static [&'static str] {
    match scope {
        Scope::None => &["--no-lock"],
        Scope::Write => &["--lock-scope", "write"],
        Scope::Whole => &["--lock-scope", "whole"],
    }
}

fn n(doc: &Value, key: &str) -> u64 {
    doc[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not a number in {doc}"))
}

/// Runs the real explorer and checks its counts against the model's.
fn assert_real_agrees_with_model(buyers: usize, tickets: u64, scope: Scope) {
    let model = model::count(buyers, tickets, scope);
    let env = TestEnv::new();
    let mut args = vec![
        "--no-fsync".to_string(),
        "--buyers".to_string(),
        buyers.to_string(),
        "--tickets".to_string(),
        tickets.to_string(),
    ];
    args.extend(scope_args(scope).iter().map(|a| a.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (run, doc) = explore_json(&env, &args);
    let real = model::Counts {
        orders: n(&doc, "orders"),
        schedules: n(&doc, "schedules"),
        oversold: n(&doc, "oversold"),
        lost_updates: n(&doc, "lost_updates"),
        ok: n(&doc, "ok"),
        interleavings: ["oversold", "lost_updates", "ok"].map(|k| n(&doc["interleavings"], k)),
    };
    assert_eq!(
        real,
        model,
        "{buyers} buyers, {tickets} tickets, {scope:?}{}",
        run.context()
    );
    assert_eq!(n(&doc, "skipped"), model.orders - model.schedules);
    let all = &doc["interleavings"];
    assert_eq!(n(all, "total"), model.orders, "{}", run.context());
    assert_eq!(
        n(all, "bad"),
        model.interleavings[0] + model.interleavings[1],
        "{}",
        run.context()
    );
    assert_eq!(n(all, "mismatch"), 0, "{}", run.context());
    assert_eq!(n(&doc, "mismatch"), 0, "{}", run.context());
}

#[test]
fn the_model_and_the_real_explorer_agree_for_two_buyers_in_every_mode() {
    for scope in [Scope::None, Scope::Write, Scope::Whole] {
        assert_real_agrees_with_model(2, 1, scope);
    }
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine: a process takes about 0.3 s to start (Linux: 1 ms), so exploring every schedule outlasts the 60 s backstop"
)]
fn the_model_and_the_real_explorer_agree_for_three_buyers_without_a_lock() {
    assert_real_agrees_with_model(3, 1, Scope::None);
    // Enough tickets for everyone: only lost updates can go wrong.
    assert_real_agrees_with_model(3, 3, Scope::None);
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine: a process takes about 0.3 s to start (Linux: 1 ms), so exploring every schedule outlasts the 60 s backstop"
)]
fn the_model_and_the_real_explorer_agree_for_three_buyers_with_the_write_lock() {
    assert_real_agrees_with_model(3, 1, Scope::Write);
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine: a process takes about 0.3 s to start (Linux: 1 ms), so exploring every schedule outlasts the 60 s backstop"
)]
fn the_model_and_the_real_explorer_agree_for_three_buyers_with_the_whole_lock() {
    assert_real_agrees_with_model(3, 1, Scope::Whole);
}

#[test]
fn the_model_counts_the_textbook_figures() {
    // Two buyers, no lock: s r w each, 6!/(3!3!) = 20 orders; the races are "who searches
    // and reads when", and the two in which both read before either writes oversell.
    let counts = model::count(2, 1, Scope::None);
    assert_eq!(
        counts,
        model::Counts {
            orders: 20,
            schedules: 6,
            oversold: 2,
            lost_updates: 0,
            ok: 4,
            interleavings: [12, 0, 8],
        }
    );
    // Three buyers: 9!/(3!3!3!) = 1680 orders were it not for the sold-out buyers' missing
    // writes; 1152 complete schedules, 1008 of them oversold (87.5 %).
    let three = model::count(3, 1, Scope::None);
    assert_eq!((three.orders, three.interleavings), (1152, [1008, 0, 144]));
    let whole = model::count(3, 1, Scope::Whole);
    assert_eq!((whole.oversold, whole.lost_updates), (0, 0));
}

#[test]
fn with_the_whole_lock_no_schedule_goes_wrong() {
    let env = TestEnv::new();
    let run = explore(&env, &["--buyers", "2", "--tickets", "1"]);
    run.assert_success();
    run.assert_stdout_contains(
        "Every schedule of 2 buyers racing for 1 ticket (lock around the whole purchase)",
    );
    run.assert_stdout_contains("No schedule went wrong");
    run.assert_stdout_contains("0 of 36 interleavings (12 distinct schedules) went wrong.");
    assert!(
        !run.stdout().contains("First bad schedule"),
        "{}",
        run.context()
    );
}

#[test]
fn without_a_lock_explore_draws_the_first_bad_schedule_and_how_to_replay_it() {
    let env = TestEnv::new();
    let run = explore(&env, &["--no-lock", "--buyers", "2", "--tickets", "1"]);
    run.assert_success();
    // Every race ran on a copy: explore never writes the original.
    run.assert_data_untouched();
    for needle in [
        "interleavings            20  every order of the buyers' moves",
        "    oversold               12",
        "    ended OK                8",
        "distinct schedules        6  run, one per group up to moves that commute",
        "    oversold                2",
        "First bad schedule (#3 of 6): 1s 1r 2s 2r 1w 2w",
        "Timeline",
        "Why: buyer-2 read ticket_num = 1, but another buyer wrote between its read and its write",
        "Tickets: ticket 1 to buyer-1 and buyer-2 (sold twice)",
        "OVERSOLD: 1 ticket, 2 confirmed (1 oversold)",
        "--buyers 2 --tickets 1 --no-lock --schedule \"1s 1r 2s 2r 1w 2w\"",
        "12 of 20 interleavings oversell (60 %); they fall into 6 distinct schedules up to \
         moves that commute, 2 of them bad: without a lock",
    ] {
        run.assert_stdout_contains(needle);
    }
}

/// What must be the same every time a schedule is replayed: the tally, the verdict, who got
/// which ticket, and every buyer's own events in order (times, pids and order numbers aside:
/// those continue the data file's history).
fn replay_essentials(doc: &Value) -> Value {
    let mut per_buyer = serde_json::Map::new();
    for event in doc["events"].as_array().unwrap() {
        let mut event = event.clone();
        let object = event.as_object_mut().unwrap();
        for varying in ["t_us", "pid", "waited_us", "holder", "of_pid", "seq"] {
            object.remove(varying);
        }
        let buyer = object.remove("buyer").unwrap().to_string();
        per_buyer
            .entry(buyer)
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
            .unwrap()
            .push(event);
    }
    serde_json::json!({
        "tally": doc["tally"],
        "verdict": doc["verdict"],
        "schedule": doc["schedule"],
        "events": per_buyer,
    })
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine: a process takes about 0.3 s to start (Linux: 1 ms), so exploring every schedule outlasts the 60 s backstop"
)]
fn a_printed_bad_schedule_replays_with_the_same_report_every_time() {
    for scope in [Scope::None, Scope::Write] {
        let env = TestEnv::new();
        let mut args = vec!["--buyers", "3", "--tickets", "1"];
        args.extend_from_slice(scope_args(scope));
        let (_, doc) = explore_json(&env, &args);
        let replay = doc["first_bad"]["replay"].as_str().unwrap().to_string();
        let schedule = doc["first_bad"]["schedule"].as_str().unwrap().to_string();
        assert!(
            replay.ends_with(&format!("--schedule \"{schedule}\"")),
            "{replay}"
        );
        // Paste the printed command back, as a person would (without the program's name).
        let words: Vec<String> = shell_words(&replay);
        assert_eq!(words[0], "grab-tickets");
        let replayed = |extra: &[&str]| grab_tickets().args(&words[1..]).args(extra).run();
        let first = replayed(&["--json"]);
        first.assert_code(0);
        let second = replayed(&["--json"]);
        second.assert_code(0);
        let (a, b) = (first.report(), second.report());
        assert_eq!(a["schedule"]["taken"], schedule, "{}", first.context());
        assert_eq!(a["verdict"]["status"], "oversold", "{}", first.context());
        assert_eq!(
            replay_essentials(a),
            replay_essentials(b),
            "{}",
            second.context()
        );
        let tickets = &a["schedule"]["tickets"];
        assert_eq!(tickets[0]["ticket"], 1, "{}", first.context());
        assert!(tickets[0]["buyers"].as_array().unwrap().len() >= 2);
        // The text report says the same, line for line (after its line with the race's time).
        let text = |run: &Run| -> Vec<String> {
            run.stdout()
                .lines()
                .skip_while(|l| !l.starts_with("Report ("))
                .skip(1)
                .map(str::to_string)
                .collect()
        };
        let (one, two) = (replayed(&[]), replayed(&[]));
        one.assert_code(0)
            .assert_stdout_contains(&format!("Schedule: {schedule}"));
        assert_eq!(text(&one), text(&two), "{}{}", one.context(), two.context());
    }
}

/// Splits a printed command line into words (double quotes only, as the explorer prints).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    words.push(word);
    words
}

#[test]
fn a_schedule_names_who_won_which_ticket() {
    let env = TestEnv::new();
    let run = env
        .race()
        .args([
            "--tickets",
            "1",
            "--lock-scope",
            "whole",
            "--schedule",
            "2s 2l 1s 1l 2r 2w 2u 1r 1u",
        ])
        .run();
    run.assert_success();
    run.assert_stdout_contains("2 buyers race for 1 ticket");
    run.assert_stdout_contains("stepped by --schedule");
    run.assert_stdout_contains("buyer-1 waits for the lock, held by buyer-2");
    run.assert_stdout_contains("Schedule: 2s 2l 1s 1l 2r 2w 2u 1r 1u");
    run.assert_stdout_contains("Tickets: ticket 1 to buyer-2; buyer-1 got none");
    run.assert_stdout_contains("OK: 1 ticket, 1 sold, 1 sold out");
}

#[test]
fn a_short_schedule_is_finished_in_buyer_order() {
    let env = TestEnv::new();
    let run = env
        .race()
        .args(["--no-lock", "--tickets", "1", "--schedule", "2s 2r 1s"])
        .run();
    run.assert_success();
    run.assert_stdout_contains("Schedule: 2s 2r 1s 1r 1w 2w");
    run.assert_stdout_contains("(the 3 steps given, then the rest in buyer order)");
}

#[test]
fn a_schedule_that_cannot_be_a_buyers_moves_is_refused_before_anything_changes() {
    let env = TestEnv::new();
    let run = env
        .race()
        .args(["--no-lock", "--schedule", "1s 1l 1r"])
        .run();
    run.assert_code(exit::USAGE).assert_data_untouched();
    run.assert_stderr_contains("buyer-1 cannot move 1s 1l 1r: with NO lock a buyer moves s r w");
    let run = env
        .race()
        .args(["--buyers", "2", "--schedule", "1s 3s"])
        .run();
    run.assert_code(exit::USAGE).assert_data_untouched();
    run.assert_stderr_contains("--schedule names buyer-3, but --buyers is 2");
    let run = env.race().args(["--schedule", "1s 2q"]).run();
    run.assert_code(exit::USAGE);
    run.assert_stderr_contains("'q' is not a move");
}

#[test]
fn a_schedule_that_does_not_fit_the_race_is_an_error_after_it_is_finished() {
    let env = TestEnv::new();
    // Buyer 2 reads 0 after buyer 1's write, so it never writes.
    let run = env
        .race()
        .args([
            "--no-lock",
            "--tickets",
            "1",
            "--schedule",
            "1s 1r 1w 2s 2r 2w",
        ])
        .run();
    run.assert_code(exit::USAGE);
    run.assert_stderr_contains(
        "step 6 of --schedule, '2w', does not fit this race: buyer-2 had already finished",
    );
    run.assert_stdout_contains("OK: 1 ticket, 1 sold, 1 sold out");
    assert_eq!(env.ticket_num(), 0);
    // A waiting buyer cannot read.
    let run = env
        .race()
        .args(["--tickets", "1", "--schedule", "1s 1l 2s 2l 2r"])
        .run();
    run.assert_code(exit::USAGE);
    run.assert_stderr_contains("'2r', does not fit this race: buyer-2 is blocked in flock, waiting for the lock that buyer-1 holds");
}

#[test]
fn random_sampling_is_reproducible_from_its_seed() {
    let env = TestEnv::new();
    let sample = |seed: &str, sampler: &str| {
        let (run, doc) = explore_json(
            &env,
            &[
                "--no-fsync",
                "--buyers",
                "6",
                "--no-lock",
                "--random",
                "12",
                "--seed",
                seed,
                "--sampler",
                sampler,
            ],
        );
        assert_eq!(n(&doc, "schedules"), 12, "{}", run.context());
        assert_eq!(doc["search"], "random");
        doc
    };
    for sampler in ["pct", "uniform"] {
        let (a, b) = (sample("7", sampler), sample("7", sampler));
        assert_eq!(a["runs"], b["runs"], "seed 7 must draw the same schedules");
        assert_eq!(a["bad"], b["bad"]);
        assert_ne!(
            a["runs"],
            sample("8", sampler)["runs"],
            "another seed, other schedules"
        );
    }
    let doc = sample("7", "pct");
    assert_eq!(doc["settings"]["sampling"]["sampler"]["kind"], "pct");
    assert_eq!(doc["settings"]["sampling"]["sampler"]["depth"], 3);
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine: a process takes about 0.3 s to start (Linux: 1 ms), so exploring every schedule outlasts the 60 s backstop"
)]
fn uniform_sampling_finds_the_oversell_and_prints_a_schedule_that_replays_it() {
    let env = TestEnv::new();
    let (run, doc) = explore_json(
        &env,
        &[
            "--no-fsync",
            "--buyers",
            "10",
            "--no-lock",
            "--random",
            "10",
            "--seed",
            "1",
            "--sampler",
            "uniform",
        ],
    );
    assert!(n(&doc, "oversold") > 0, "{}", run.context());
    let schedule = doc["first_bad"]["schedule"].as_str().unwrap();
    let replay = env
        .race()
        .args([
            "--no-lock",
            "--buyers",
            "10",
            "--tickets",
            "1",
            "--json",
            "--schedule",
            schedule,
        ])
        .run();
    replay.assert_code(0);
    assert_eq!(
        replay.report()["verdict"]["status"],
        "oversold",
        "{}",
        replay.context()
    );
}

/// A finished `explore --interactive`, driven through its stdin.
struct Played {
    command: String,
    output: Output,
}

impl Played {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    fn context(&self) -> String {
        format!(
            "\n--- command: {}\n--- status: {}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.command,
            self.output.status,
            self.stdout(),
            String::from_utf8_lossy(&self.output.stderr)
        )
    }

    fn assert_success(&self) -> &Played {
        assert!(self.output.status.success(), "failed{}", self.context());
        self
    }

    fn assert_stdout_contains(&self, needle: &str) -> &Played {
        assert!(
            self.stdout().contains(needle),
            "stdout lacks {needle:?}{}",
            self.context()
        );
        self
    }
}

/// Runs `explore --interactive` with `input` on its stdin. The builder in `common` gives its
/// runs no stdin, and the game reads nothing else.
fn play(env: &TestEnv, args: &[&str], input: &str) -> Played {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_grab-tickets"));
    cmd.arg("explore")
        .arg("--data")
        .arg(&env.data)
        .arg("--interactive")
        .args(args)
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let command = format!("{cmd:?} <<< {input:?}");
    let mut child = cmd.spawn().expect("start grab-tickets");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .expect("write stdin");
    let output = child.wait_with_output().expect("wait for grab-tickets");
    Played { command, output }
}

#[test]
fn playing_without_a_lock_the_player_is_told_the_moment_they_oversell() {
    let env = TestEnv::new();
    // Both search and read before either writes.
    let run = play(&env, &["--no-lock"], "1\n1\n2\n2\n1\n2\n");
    run.assert_success();
    run.assert_stdout_contains("You are the scheduler: 2 buyers race for 1 ticket (NO lock)");
    run.assert_stdout_contains("buyer-1   next 1r: read the count it will decide on");
    run.assert_stdout_contains("data file: ticket_num = 0; no lock");
    run.assert_stdout_contains(
        "!! OVERSOLD: buyer-2 just sold a ticket that was already gone. It decided on ticket_num = 1, read before buyer-1 wrote 0",
    );
    run.assert_stdout_contains("OVERSOLD: 1 ticket, 2 confirmed (1 oversold)");
    run.assert_stdout_contains("Your schedule: 1s 1r 2s 2r 1w 2w");
    // The player made every move: no seed drew anything, so the report names none.
    let report = run.stdout();
    let heading = report.lines().find(|l| l.starts_with("Report (race took "));
    assert!(
        heading.is_some_and(|h| !h.contains("seed")),
        "the report's heading names a seed: {heading:?}{}",
        run.context()
    );
}

#[test]
fn playing_with_the_lock_the_player_is_told_why_a_buyer_must_wait() {
    let env = TestEnv::new();
    let input = "1\n1\n2\n2\n2\nnonsense\n1\n1\n1\n2\n2\n";
    let run = play(&env, &[], input);
    run.assert_success();
    run.assert_stdout_contains("buyer-1 holds the lock");
    run.assert_stdout_contains(
        "buyer-2 asked for the lock, but buyer-1 holds it: buyer-2 is now blocked in flock",
    );
    run.assert_stdout_contains("buyer-2   blocked in flock until buyer-1 unlocks");
    run.assert_stdout_contains(
        "buyer-2 is blocked in flock, waiting for the lock that buyer-1 holds",
    );
    run.assert_stdout_contains("That is the lock at work");
    run.assert_stdout_contains("Type a buyer's number from 1 to 2");
    run.assert_stdout_contains("OK: 1 ticket, 1 sold, 1 sold out");
    run.assert_stdout_contains("you could not oversell");
}

#[test]
fn quitting_the_game_stops_the_race_and_says_where() {
    let env = TestEnv::new();
    let run = play(&env, &["--no-lock"], "1\nq\n");
    run.assert_success();
    run.assert_stdout_contains("Stopped after 1 move: 1s");
    // End of input stops it the same way.
    let run = play(&env, &["--no-lock"], "2\n");
    run.assert_success();
    run.assert_stdout_contains("Stopped after 1 move: 2s");
    // Quitting before any move says so, not "after 0 moves: " and an empty schedule.
    let run = play(&env, &["--no-lock"], "q\n");
    run.assert_success();
    run.assert_stdout_contains("Stopped before any move.");
}

#[test]
fn explore_refuses_what_it_cannot_run() {
    let env = TestEnv::new();
    let run = explore(&env, &["--buyers", "5"]);
    run.assert_code(exit::USAGE);
    run.assert_stderr_contains("--buyers 5 is out of range; use 1 to 4");
    run.assert_stderr_contains("--random N");
    let run = explore(
        &env,
        &["--random", "3", "--sampler", "uniform", "--depth", "2"],
    );
    run.assert_code(exit::USAGE);
    run.assert_stderr_contains("--depth is the PCT sampler's");
    let broken = TestEnv::with_data("{\"ticket_num\": -1}");
    let run = explore(&broken, &[]);
    run.assert_code(exit::BAD_DATA).assert_data_untouched();
    run.assert_stderr_contains("cannot be negative");
}

#[test]
fn explore_needs_no_data_file_and_creates_none() {
    let env = TestEnv::new();
    std::fs::remove_file(&env.data).unwrap();
    let run = explore(&env, &["--no-lock"]);
    run.assert_success();
    run.assert_stdout_contains("12 of 20 interleavings oversell (60 %)");
    assert!(!env.data.exists(), "explore created {}", env.data.display());
    assert!(!env.lock_file().exists() && !env.order_log().exists());
}

/// The pids of `parent`'s children, from /proc.
#[cfg(target_os = "linux")]
fn children_of(parent: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            // "pid (comm) state ppid ...": the comm may hold spaces, so split after its ')'.
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| stat.rsplit_once(") ").map(|(_, rest)| rest.to_string()))
                .and_then(|rest| rest.split(' ').nth(1)?.parse::<u32>().ok())
                == Some(parent)
        })
        .collect()
}

// Linux-only: SIGINT, and the buyers found and checked in /proc.
#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_at_the_interactive_prompt_stops_at_once_and_leaves_no_process() {
    use std::io::BufRead as _;
    let env = TestEnv::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_grab-tickets"))
        .arg("explore")
        .arg("--data")
        .arg(&env.data)
        .args(["--interactive", "--no-lock", "--buyers", "3"])
        .env("LC_ALL", "C")
        .stdin(Stdio::piped()) // held open: the game waits at its prompt
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start grab-tickets");
    let pid = child.id();
    let (send, board) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = send.send(line);
        }
    });
    // The signal: the board has been drawn (the prompt itself has no newline), so every
    // buyer is paused before its first move.
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.contains("ticket_num = 1")) {
        match board.recv_timeout(crate::common::BACKSTOP) {
            Ok(line) => seen.push(line),
            Err(e) => panic!("no board ({e}): {seen:?}"),
        }
    }
    let buyers = children_of(pid);
    assert_eq!(buyers.len(), 3, "three paused buyers: {buyers:?} {seen:?}");
    // SAFETY: kill(2) on our own unreaped child.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGINT) }, 0);
    assert!(
        crate::common::process::wait_until_gone(pid, crate::common::BACKSTOP),
        "Ctrl-C did not stop explore --interactive: {seen:?}"
    );
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{status} {seen:?}");
    // Reaped by the launcher before it ended: not even a zombie is left.
    for buyer in buyers {
        assert!(
            !std::path::Path::new(&format!("/proc/{buyer}")).exists(),
            "buyer pid {buyer} outlived explore --interactive"
        );
    }
}
