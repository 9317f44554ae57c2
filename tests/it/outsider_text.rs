//! The independent buyer (tests/it/outsider_buyer.py) follows docs/protocol.md's text where
//! it is strict about files: a symbolically linked `D` is resolved and its sidecars are the
//! real file's, a sidecar that is a link is refused, and nothing a reader refuses is written.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::TestEnv;
use crate::shared_ledger::{ledger, wait_for_sales};

/// The outsider on `data` buying `tickets`: its exit status and its one JSON line.
fn outsider(data: &Path, tickets: &str) -> (Option<i32>, Value, String) {
    let out = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/it/outsider_buyer.py"
        ))
        .arg(data)
        .args([
            "--tickets",
            tickets,
            "--run",
            "py-shop",
            "--delay-ms",
            "0..1",
        ])
        .output()
        .expect("python3 runs the outsider");
    let line = serde_json::from_slice(&out.stdout).expect("the outsider's report line");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), line, stderr)
}

#[test]
fn an_outsider_given_a_link_to_the_data_file_shares_its_lock_and_ledger() {
    let env = TestEnv::new();
    let link = env.path("shop-link.json");
    std::os::unix::fs::symlink(&env.data, &link).unwrap();
    let race = env
        .race()
        .tickets(100)
        .buyers(2)
        .per_buyer("all")
        .delay("1..3")
        .check()
        .json()
        .spawn();
    wait_for_sales(&env, 3);
    let (code, line, stderr) = outsider(&link, "5");
    assert_eq!(code, Some(0), "the outsider failed: {stderr}");
    let bought = line["confirmed"].as_u64().unwrap();
    let run = race.finish();
    run.assert_success()
        .assert_status("ok")
        .assert_report("/tally/sold_by_others", bought);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the outsider replaced the link with a file"
    );
    for sidecar in ["shop-link.json.lock", "shop-link.json.orders"] {
        assert!(
            !env.path(sidecar).exists(),
            "{sidecar} beside the link: a lock and a ledger of its own"
        );
    }
    let by_outsider = ledger(&env)
        .iter()
        .filter(|entry| entry["run"] == "py-shop")
        .count();
    assert_eq!(
        by_outsider as u64, bought,
        "its sales are in the shared ledger"
    );
}

#[test]
fn an_outsider_refuses_a_lock_file_that_is_a_link_and_writes_nothing_through_it() {
    let env = TestEnv::with_data("{\"ticket_num\": 3}\n");
    env.race().tickets(4).buyers(1).run().assert_success();
    let elsewhere = env.path("someone-elses-file");
    std::fs::write(&elsewhere, "precious\n").unwrap();
    let lock = env.path("data.json.lock");
    std::fs::remove_file(&lock).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &lock).unwrap();
    let log = std::fs::read(env.path("data.json.orders")).unwrap();
    let (code, line, _) = outsider(&env.data, "1");
    assert_eq!(code, Some(3), "{line}");
    assert!(
        line["error"].as_str().unwrap().contains("symbolic link"),
        "{line}"
    );
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "precious\n");
    assert_eq!(std::fs::read(env.path("data.json.orders")).unwrap(), log);
}

/// A data file at the size limit whose next seq has one more digit: selling would make it a
/// byte too large for every reader, so the outsider writes nothing.
#[test]
fn an_outsider_never_writes_a_data_file_past_the_size_limit() {
    let env = TestEnv::with_data("{\"ticket_num\": 3}\n");
    env.race().tickets(4).buyers(1).run().assert_success();
    // After a restock and a sale: {"ticket_num":3,"seq":2}. Pad it with a field to exactly 64 KiB, the
    // seq at 9 (a restock entry agreeing with it is appended), so seq 10 adds a byte.
    let head = "{\"ticket_num\":3,\"seq\":9,\"pad\":\"";
    let pad = "x".repeat(64 * 1024 - head.len() - 2);
    std::fs::write(&env.data, format!("{head}{pad}\"}}")).unwrap();
    let entry =
        r#"{"seq":9,"kind":"restock","run":"py-shop","buyer":0,"pid":1,"before":3,"after":3}"#;
    let mut log = std::fs::read(env.path("data.json.orders")).unwrap();
    log.extend(format!("{entry:<159}\n").bytes());
    std::fs::write(env.path("data.json.orders"), &log).unwrap();
    let data = std::fs::read(&env.data).unwrap();
    let (code, line, _) = outsider(&env.data, "1");
    assert_eq!(code, Some(3), "{line}");
    assert!(
        line["error"].as_str().unwrap().contains("65537 bytes"),
        "{line}"
    );
    assert_eq!(
        std::fs::read(&env.data).unwrap(),
        data,
        "the data file changed"
    );
    assert_eq!(std::fs::read(env.path("data.json.orders")).unwrap(), log);
}
