//! One story in every view: the timeline's lanes, the text report's rows and verdict, and the
//! JSON's `result` of each buyer agree on how every buyer ended (sold out, bought K then sold
//! out, killed, timed out). The JSON is read from the `--html` page the same text run wrote.

use crate::common::{Race, Run, TestEnv};
use serde_json::Value;

/// A text run that also writes its page; returns the run and the `--json` document inside
/// the page.
fn told_both_ways(env: &TestEnv, race: Race) -> (Run, Value) {
    let page = env.path("race.html");
    let run = race.arg("--html").arg(&page).succeeds();
    let html = std::fs::read_to_string(&page).expect("the page was written");
    let start = html
        .find(r#"<script type="application/json" id="run">"#)
        .expect("the page holds the run")
        + r#"<script type="application/json" id="run">"#.len();
    let end = start + html[start..].find("</script>").unwrap();
    let data: Value = serde_json::from_str(&html[start..end]).expect("the run is JSON");
    (run, data["run"].clone())
}

/// The closing note of `buyer`'s lane: the text after its bar.
fn lane_note(run: &Run, buyer: u64) -> String {
    let name = format!("buyer-{buyer} ");
    run.stdout()
        .lines()
        .find(|l| l.starts_with(&name) && l.contains('|'))
        .and_then(|l| l.rsplit_once("| "))
        .map(|(_, note)| note.to_string())
        .unwrap_or_else(|| panic!("no lane for buyer-{buyer}{}", run.context()))
}

/// The count on the report row `label`, or 0 when the row is not there.
fn row_count(run: &Run, label: &str) -> u64 {
    run.stdout()
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix("  ")?.strip_prefix(label)?;
            // The label is followed by padding and the count; a longer label is another row.
            rest.starts_with("  ")
                .then(|| rest.split_whitespace().next()?.parse().ok())?
        })
        .unwrap_or(0)
}

/// The report row's label for a JSON `result`.
fn label(result: &str) -> &'static str {
    match result {
        "sold_out" => "sold out",
        "sold_out_after_buying" => "sold out after buying",
        "lock_timeout" => "lock timeout",
        "killed" => "killed",
        "failed" => "failed",
        other => panic!("no row for {other}"),
    }
}

/// Checks that each buyer's lane, the report's rows and the verdict tell what the JSON says.
fn assert_one_story(run: &Run, report: &Value) {
    let buyers = report["buyers"].as_array().unwrap();
    for b in buyers {
        let (n, result) = (b["buyer"].as_u64().unwrap(), b["result"].as_str().unwrap());
        let confirmed = b["confirmed"].as_u64().unwrap();
        let note = lane_note(run, n);
        let agrees = match result {
            "bought" => note.contains("wrote") || note == format!("bought {confirmed}"),
            "sold_out" => note.ends_with("sold out") && !note.contains("then"),
            "sold_out_after_buying" => note == format!("bought {confirmed}, then sold out"),
            "lock_timeout" => {
                note == "gave up on the lock"
                    || note == format!("bought {confirmed}, then timed out")
            }
            "killed" => note.contains("killed"),
            _ => note == "failed",
        };
        run.assert_that(
            agrees,
            format!("buyer-{n}: the JSON says {result}, its lane says {note:?}"),
        );
    }
    for result in [
        "sold_out",
        "sold_out_after_buying",
        "lock_timeout",
        "killed",
    ] {
        let n = buyers.iter().filter(|b| b["result"] == result).count() as u64;
        run.assert_that(
            row_count(run, label(result)) == n,
            format!(
                "{n} buyers are {result} in the JSON, the row {:?} disagrees",
                label(result)
            ),
        );
        let verdict = report["verdict"]["line"].as_str().unwrap();
        run.assert_that(
            (n == 0) != verdict.contains(&format!(", {n} {}", label(result))),
            format!("the verdict {verdict:?} and the JSON disagree on {result}"),
        )
        .assert_stdout_contains(verdict);
    }
}

#[test]
fn buyers_who_bought_until_sold_out_are_counted_as_such_everywhere() {
    let env = TestEnv::new();
    let (run, report) = told_both_ways(
        &env,
        env.race()
            .buyers(3)
            .tickets(12)
            .per_buyer("all")
            .delay("0..1"),
    );
    assert_one_story(&run, &report);
    run.assert_that(
        row_count(&run, "sold out after buying") >= 1,
        "nobody bought, then sold out",
    );
}

#[test]
fn sold_out_buyers_agree_everywhere() {
    let env = TestEnv::new();
    let (run, report) = told_both_ways(&env, env.race().buyers(5).tickets(2).delay("5..10"));
    assert_one_story(&run, &report);
    run.assert_that(row_count(&run, "sold out") == 3, "three sold out");
}

#[test]
fn a_killed_buyer_agrees_everywhere() {
    let env = TestEnv::new();
    let (run, report) = told_both_ways(
        &env,
        env.race()
            .buyers(3)
            .tickets(1)
            .delay("5..10")
            .kill_at("2:lock_held"),
    );
    assert_one_story(&run, &report);
    run.assert_that(
        lane_note(&run, 2) == "killed at lock_held",
        "buyer-2's lane",
    );
}

#[test]
fn a_buyer_that_gave_up_on_the_lock_agrees_everywhere() {
    let env = TestEnv::new();
    let (run, report) = told_both_ways(
        &env,
        env.race().buyers(2).delay("300..300").lock_timeout(30),
    );
    assert_one_story(&run, &report);
    run.assert_that(row_count(&run, "lock timeout") == 1, "one lock timeout");
}
