//! A buyer that prints nothing a person reads never parses the Fluent catalog: the parse
//! costs each process ~100 page faults and 400 KB of heap, and a run is mostly buyer start-ups
//! (issue 22, docs/performance.md). Evidence without timing: debug builds leave a file named by
//! the pid of every process that parses a catalog in `GRAB_TICKETS_CATALOG_PARSES`.

use std::collections::BTreeSet;

use crate::common::TestEnv;

/// The pids of the processes that parsed a catalog during the run.
fn parsers(dir: &std::path::Path) -> BTreeSet<u32> {
    std::fs::read_dir(dir)
        .expect("read the parses dir")
        .map(|entry| {
            let name = entry.expect("an entry").file_name();
            name.to_str().and_then(|n| n.parse().ok()).expect("a pid")
        })
        .collect()
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "the catalog-parse hook is in debug builds only"
)]
fn only_the_launcher_parses_the_catalog_in_a_run_people_read() {
    let env = TestEnv::new();
    let parses = env.path("parses");
    std::fs::create_dir(&parses).unwrap();
    let run = env
        .race()
        .buyers(5)
        .delay("0..0")
        .lang("en")
        .env("GRAB_TICKETS_CATALOG_PARSES", parses.to_str().unwrap())
        .run();
    run.assert_success();
    // The launcher's report is in English, so the hook must have fired in the launcher: the
    // test would see nothing if the hook did not work at all.
    let seen = parsers(&parses);
    run.assert_that(
        seen == BTreeSet::from([run.pid]),
        format!("only the launcher {} parsed, but {seen:?} did", run.pid),
    );
}

#[test]
fn no_buyer_parses_the_catalog_in_a_json_run() {
    let env = TestEnv::with_data("{\"ticket_num\": 20}\n");
    let parses = env.path("parses");
    std::fs::create_dir(&parses).unwrap();
    let run = env
        .race()
        .buyers(20)
        .delay("0..0")
        .lang("zh")
        .env("GRAB_TICKETS_CATALOG_PARSES", parses.to_str().unwrap())
        .json()
        .run();
    run.assert_success();
    let buyers: BTreeSet<u32> = run
        .buyers()
        .iter()
        .map(|b| b["pid"].as_u64().unwrap() as u32)
        .collect();
    let seen = parsers(&parses);
    run.assert_that(
        buyers.len() == 20,
        format!("twenty buyers, pids {buyers:?}"),
    )
    .assert_that(
        seen.is_disjoint(&buyers),
        format!(
            "buyers {:?} parsed the catalog",
            seen.intersection(&buyers).collect::<Vec<_>>()
        ),
    );
}
