//! Hundreds of seeded `--chaos` runs, each SIGKILLing random buyers at every step of a
//! purchase; after each one the invariants must hold, and every death is told. A seed
//! replays its kills: the same victims at the same steps.

mod common;
use common::{Run, TestEnv};

const RUNS: u64 = 300;

/// What one chaos run killed, for the totals printed at the end.
#[derive(Default)]
struct Kills {
    total: u64,
    at_steps: Vec<String>,
    unconfirmed_sales: u64,
}

/// Runs seed `seed` and checks every invariant; returns what was killed.
fn chaos_run(seed: u64) -> Kills {
    let env = TestEnv::new();
    let mut race = env
        .race()
        .chaos()
        .check()
        .json()
        .seed(seed)
        .buyers(3 + seed as u32 % 5)
        .tickets(1 + seed % 4)
        .per_buyer(1 + seed % 3)
        .delay("0..2");
    if seed % 2 == 1 {
        race = race.no_fsync();
    }
    let run = race.run();
    run.assert_success().assert_every_ticket_is_accounted_for();
    // Every sale in the log but never confirmed belongs to a killed buyer, and every buyer
    // that died was killed by the chaos.
    for buyer in run.buyers() {
        let killed = buyer["ending"]["how"] == "killed";
        let unconfirmed = buyer["logged"].as_u64() > buyer["confirmed"].as_u64();
        run.assert_that(killed || !unconfirmed, format!("unexplained sale: {buyer}"))
            .assert_that(
                !killed || buyer["ending"]["cause"] == "chaos",
                format!("killed by something else: {buyer}"),
            )
            .assert_that(
                killed == (buyer["result"] == "killed"),
                format!("the result says otherwise: {buyer}"),
            );
    }

    let mut kills = Kills {
        unconfirmed_sales: run.report()["tally"]["unconfirmed"].as_u64().unwrap(),
        ..Kills::default()
    };
    let victims = run.report()["victims"].as_array().unwrap();
    for victim in victims.iter().filter(|v| v["died"] == true) {
        kills.total += 1;
        run.assert_that(
            victim["kill"]["at"] == "step",
            format!("not a step: {victim}"),
        );
        kills
            .at_steps
            .push(victim["kill"]["step"].as_str().unwrap().to_string());
    }
    // Every death is told: the victim's own `killed` event, at the step the plan named.
    let (planned, told) = deaths(&run);
    let died: Vec<(u64, String)> = planned
        .into_iter()
        .filter(|d| d.3)
        .map(|(buyer, step, _, _)| (buyer, step))
        .collect();
    run.assert_that(died == told, format!("deaths {died:?}, told {told:?}"));
    kills
}

#[test]
fn hundreds_of_chaos_runs_never_oversell_and_account_for_every_ticket() {
    // Each run is mostly process start-up and waits on its buyers: one thread per core the
    // machine has (one, or many) keeps them all busy.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let all: Vec<Kills> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|worker| {
                scope.spawn(move || {
                    (0..RUNS)
                        .filter(|seed| seed % threads == worker)
                        .map(chaos_run)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let total: u64 = all.iter().map(|k| k.total).sum();
    let unconfirmed: u64 = all.iter().map(|k| k.unconfirmed_sales).sum();
    let steps: Vec<&String> = all.iter().flat_map(|k| &k.at_steps).collect();
    eprintln!(
        "{RUNS} chaos runs on {threads} threads: {total} buyers killed, {unconfirmed} sales \
         committed by a buyer that died before confirming; 0 anomalies"
    );
    assert!(total >= RUNS / 2, "too few kills to mean anything: {total}");
    for step in [
        "before_lock",
        "lock_held",
        "in_delay",
        "temp_written",
        "order_logged",
        "data_written",
        "released",
    ] {
        assert!(
            steps.iter().any(|s| s.as_str() == step),
            "no run killed a buyer at {step}"
        );
    }
}

/// A planned death: buyer, step, attempt, and whether it died there.
type Planned = (u64, String, u64, bool);

/// Who was to die where, and the `killed` events as (buyer, step), both in buyer order.
fn deaths(run: &Run) -> (Vec<Planned>, Vec<(u64, String)>) {
    let report = run.report();
    let mut planned: Vec<Planned> = report["victims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["buyer"].as_u64().unwrap(),
                v["kill"]["step"].as_str().unwrap().to_string(),
                v["kill"]["attempt"].as_u64().unwrap(),
                v["died"].as_bool().unwrap(),
            )
        })
        .collect();
    planned.sort();
    let mut told: Vec<(u64, String)> = report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "killed")
        .map(|e| {
            (
                e["buyer"].as_u64().unwrap(),
                e["step"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    told.sort();
    (planned, told)
}

#[test]
fn the_same_seed_kills_the_same_buyers_at_the_same_steps() {
    // With a ticket for every buyer, every victim reaches its step whatever order the kernel
    // lets the buyers in: the deaths depend on the seed alone.
    for seed in [4, 11] {
        let env = TestEnv::new();
        let race = || {
            env.race()
                .chaos()
                .json()
                .seed(seed)
                .buyers(9)
                .tickets(9)
                .delay("0..3")
                .succeeds()
        };
        let (first, second) = (race(), race());
        let (planned, told) = deaths(&first);
        first
            .assert_that(!planned.is_empty(), format!("seed {seed} kills nobody"))
            .assert_that(planned.iter().all(|d| d.3), "a victim did not die");
        let again = deaths(&second);
        second.assert_that(
            (planned.clone(), told.clone()) == again,
            format!("first run: {planned:?} {told:?}{}", first.context()),
        );
    }
}

/// The lane of `buyer` in a text run's timeline, with its closing note.
fn lane_of(stdout: &str, buyer: u64) -> Option<&str> {
    let name = format!("buyer-{buyer} ");
    stdout
        .lines()
        .find(|l| l.starts_with(&name) && l.contains('|'))
}

#[test]
fn a_chaos_death_is_told_drawn_and_listed_in_the_legend() {
    let env = TestEnv::new();
    let run = env
        .race()
        .buyers(3)
        .tickets(3)
        .delay("20..20")
        .kill_at("2:in_delay")
        .run();
    run.assert_success()
        .assert_stdout_contains("KILLED at in_delay (fault injection)")
        .assert_stdout_contains("K killed (SIGKILL)")
        .assert_stdout_contains("killed                     1  buyer-2");
    let lane = lane_of(run.stdout(), 2).expect("a lane for buyer-2");
    run.assert_that(
        lane.contains('K') && lane.ends_with("killed at in_delay"),
        format!("buyer-2's lane: {lane}"),
    );
    // Killed mid-delay under the lock: the narration says the kernel freed it.
    let line = run.stdout().lines().find(|l| l.contains("KILLED")).unwrap();
    run.assert_that(
        line.contains("while holding the lock — the kernel frees it"),
        format!("the kill line: {line}"),
    );
}

/// The example README gives for `--chaos`: a seed whose run shows a recovered order.
const README_CHAOS: [&str; 6] = ["--chaos", "--seed", "2", "--tickets", "10", "--json"];

#[test]
fn the_readme_chaos_example_recovers_an_order() {
    let env = TestEnv::new();
    let run = env.race().args(README_CHAOS).succeeds();
    run.assert_every_ticket_is_accounted_for();
    let recovered = run.report()["recovered"].as_array().unwrap();
    run.assert_that(!recovered.is_empty(), "no order was recovered");
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("read README.md");
    let shown = README_CHAOS[..README_CHAOS.len() - 1].join(" ");
    assert!(
        readme.contains(&format!("grab-tickets {shown}")),
        "README does not show `grab-tickets {shown}`"
    );
}
