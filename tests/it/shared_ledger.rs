//! The order log is a permanent ledger shared by everyone who sells from the data file: other
//! grab-tickets runs and other programs. Nothing truncates it, each run reads only its own
//! window, every sale in that window is attributed, and a restock never lands in the middle of
//! someone else's race.

use crate::common;
#[cfg(unix)]
use crate::common::exit::ENVIRONMENT;
use crate::common::process::Live;
use crate::common::{BACKSTOP, Run, TestEnv, grab_tickets};
use grab_tickets::ORDER_ENTRY_LEN;
use serde_json::Value;
use std::fs;
#[cfg(unix)]
use std::path::Path;
#[cfg(unix)]
use std::process::{Command, Stdio};
use std::time::Instant;

const ENTRY: usize = ORDER_ENTRY_LEN;

/// The order log's entries, parsed.
pub(crate) fn ledger(env: &TestEnv) -> Vec<Value> {
    let bytes = fs::read(env.order_log()).expect("read the order log");
    assert_eq!(bytes.len() % ENTRY, 0, "a torn order log");
    bytes
        .chunks(ENTRY)
        .map(|line| serde_json::from_slice(line).expect("an entry is JSON"))
        .collect()
}

/// Waits until the order log holds more than `entries` entries: the race has begun selling.
pub(crate) fn wait_for_sales(env: &TestEnv, entries: usize) {
    let deadline = Instant::now() + BACKSTOP;
    while fs::metadata(env.order_log()).map_or(0, |m| m.len() as usize) <= entries * ENTRY {
        assert!(Instant::now() < deadline, "the race never started selling");
        std::thread::yield_now();
    }
}

/// A long locked race over the whole stock: 4 buyers buying until it is gone.
fn long_race(env: &TestEnv) -> common::Race {
    env.race().buyers(4).per_buyer("all").delay("3..6").json()
}

fn count(run: &Run, at: &str) -> u64 {
    run.report()
        .pointer(at)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("report {at} is not a count{}", run.context()))
}

#[test]
fn a_restock_is_appended_and_nothing_ever_truncates_the_ledger() {
    let env = TestEnv::new();
    env.sell_tickets(3);
    let first = fs::read(env.order_log()).unwrap();
    env.sell_tickets(3);
    let second = fs::read(env.order_log()).unwrap();
    assert!(
        second.starts_with(&first),
        "the first run's entries changed"
    );
    let kinds: Vec<String> = ledger(&env)
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "restock", "order", "order", "order", "restock", "order", "order", "order"
        ]
    );
    let seqs: Vec<u64> = ledger(&env)
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        (1..=8).collect::<Vec<u64>>(),
        "seqs go on across runs"
    );
}

#[test]
fn a_run_reports_only_its_own_window_of_a_long_ledger() {
    let env = TestEnv::new();
    env.race()
        .tickets(500)
        .buyers(2)
        .per_buyer("all")
        .delay("0..0")
        .no_fsync()
        .quiet()
        .succeeds();
    let run = env.race().buyers(5).tickets(3).delay("0..1").json().run();
    run.assert_success()
        .assert_status("ok")
        .assert_report("/tally/logged", 3)
        .assert_report("/tally/sold_by_others", 0)
        .assert_report("/others", Value::Array(Vec::new()));
    assert_eq!(ledger(&env).len(), 1 + 500 + 1 + 3);
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine: a launcher takes about 0.3 s to start here, and the first race is over before the second launcher joins it"
)]
fn a_restock_waits_for_the_running_race_and_both_reports_are_true() {
    let env = TestEnv::new();
    let first: Live = long_race(&env).tickets(40).spawn();
    wait_for_sales(&env, 2);
    let second = long_race(&env).tickets(40).run();
    let first = first.finish();
    second
        .assert_success()
        .assert_status("ok")
        .assert_stderr_contains(&gate_wait_wording(first.pid))
        .assert_report("/tally/initial", 40)
        .assert_report("/tally/confirmed", 40)
        .assert_report("/tally/sold_by_others", 0);
    first
        .assert_success()
        .assert_status("ok")
        .assert_report("/tally/confirmed", 40)
        .assert_report("/tally/sold_by_others", 0);
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine: a launcher takes about 0.3 s to start here, and the first race is over before the second launcher joins it"
)]
fn keep_stock_joins_a_running_race_and_each_report_counts_the_other() {
    for _ in 0..3 {
        let env = TestEnv::new();
        let first: Live = long_race(&env).tickets(40).spawn();
        wait_for_sales(&env, 2);
        let second = long_race(&env).keep_stock().check().run();
        let first = first.finish();
        for run in [&first, &second] {
            run.assert_success().assert_status("ok");
            let (initial, confirmed, others) = (
                count(run, "/tally/initial"),
                count(run, "/tally/confirmed"),
                count(run, "/tally/sold_by_others"),
            );
            run.assert_that(
                confirmed + others == initial,
                "this run's sales and the others' do not add up to its stock",
            );
        }
        let both = count(&first, "/tally/confirmed") + count(&second, "/tally/confirmed");
        first.assert_that(both == 40, format!("the two runs sold {both} of 40"));
        second
            .assert_that(
                count(&second, "/tally/sold_by_others") > 0
                    || count(&second, "/tally/initial") == 0,
                "the joining run did not see the first run's sales",
            )
            .assert_report("/others/0/grab_tickets", true)
            .assert_report("/others/0/run", first.report()["run"].clone());
    }
}

/// Runs the independent buyer in tests/it/outsider_buyer.py (written from docs/protocol.md alone).
#[cfg(unix)]
fn outsider(data: &Path, run: &str) -> std::process::Child {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/outsider_buyer.py");
    Command::new("python3")
        .arg(script)
        .arg(data)
        .args(["--tickets", "all", "--run", run, "--delay-ms", "0..1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs the outsider (python3 is part of the machine)")
}

// Unix-only: the independent buyer is Python locking with fcntl.flock.
#[cfg(unix)]
#[test]
fn an_independent_program_following_the_protocol_shares_the_race_and_the_report_is_ok() {
    let env = TestEnv::with_data("{\"ticket_num\": 3, \"note\": \"teacher's copy\"}\n");
    let run: Live = env
        .race()
        .tickets(200)
        .buyers(3)
        .per_buyer("all")
        .delay("0..1")
        .check()
        .json()
        .spawn();
    wait_for_sales(&env, 3);
    let outsiders: Vec<_> = ["py-shop", "py-shop"]
        .iter()
        .map(|name| outsider(&env.data, name))
        .collect();
    let sold_outside: u64 = outsiders
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "the outsider failed: {stderr}");
            let line: Value = serde_json::from_slice(&out.stdout).expect("its report line");
            line["confirmed"].as_u64().unwrap()
        })
        .sum();
    let run = run.finish();
    run.assert_success()
        .assert_status("ok")
        .assert_report("/tally/sold_by_others", sold_outside)
        .assert_that(
            count(&run, "/tally/confirmed") + sold_outside == 200,
            "the ledger's sales do not add up to the stock",
        )
        .assert_tickets_left(0);
    if sold_outside > 0 {
        run.assert_report("/others/0/run", "py-shop")
            .assert_report("/others/0/grab_tickets", false);
    }
    // The files agree: every order continues the one before it, and data.json kept its note.
    let entries = ledger(&env);
    let orders: Vec<&Value> = entries.iter().filter(|e| e["kind"] == "order").collect();
    for pair in orders.windows(2) {
        assert_eq!(
            pair[1]["before"], pair[0]["after"],
            "a broken chain: {pair:?}"
        );
        assert_eq!(
            pair[1]["seq"].as_u64().unwrap(),
            pair[0]["seq"].as_u64().unwrap() + 1
        );
    }
    assert_eq!(env.data_json()["note"], "teacher's copy");
    assert_eq!(env.data_json()["seq"], entries.last().unwrap()["seq"]);
}

/// Appends one sale by hand, as another program would (tests/it/hand_sale.py): under the
/// lock, `seq_jump` past the last entry's seq, with `fields` replacing the entry's own keys,
/// and the data file written to match.
///
/// The test takes the lock itself before Python starts and holds it until the sale is written:
/// the race's buyers wait at the lock meanwhile, so however slowly Python starts on a loaded
/// machine the race cannot sell out under it (it used to, and the sale found no stock).
#[cfg(unix)]
pub(crate) fn hand_sale(env: &TestEnv, seq_jump: u64, fields: Value) {
    hand(
        env,
        &[
            "--seq-jump",
            &seq_jump.to_string(),
            "--fields",
            &fields.to_string(),
        ],
    );
}

/// Raises the stock by `by` under the lock and writes no entry (tests/it/hand_sale.py
/// --raise-stock): a person's edit in a text editor.
#[cfg(unix)]
pub(crate) fn hand_edit(env: &TestEnv, by: u64) {
    hand(env, &["--raise-stock", &by.to_string()]);
}

/// Runs tests/it/hand_sale.py with the buyers' lock already taken here (see `hand_sale`).
#[cfg(unix)]
fn hand(env: &TestEnv, args: &[&str]) {
    let lock = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(env.lock_file())
        .expect("the race made the lock file");
    lock.lock().expect("take the lock the buyers share");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/hand_sale.py");
    let sale = Command::new("python3")
        .arg(script)
        .arg(&env.data)
        .arg("--lock-held")
        .args(args)
        .output()
        .expect("python3 runs the hand sale (python3 is part of the machine)");
    drop(lock);
    assert!(
        sale.status.success(),
        "{}",
        String::from_utf8_lossy(&sale.stderr)
    );
}

// Unix-only: the odd sale is Python (tests/it/hand_sale.py) writing under the buyers' flock,
// which the test holds for it.
#[cfg(unix)]
#[test]
fn odd_values_and_extra_keys_from_outsiders_never_stop_the_report() {
    let env = TestEnv::new();
    let run: Live = env
        .race()
        .tickets(40)
        .buyers(2)
        .per_buyer("all")
        // 40 sales of 20 ms or more in turn: the test takes the lock long before the stock is
        // gone, and Python's start waits under it (see `hand_sale`), not against the race.
        .delay("20..30")
        .json()
        .spawn();
    wait_for_sales(&env, 2);
    hand_sale(
        &env,
        1,
        serde_json::json!({"run": 7, "buyer": "alice", "pid": "n/a",
                           "note": {"from": "a shop in another language"}}),
    );
    let run = run.finish();
    run.assert_success()
        .assert_status("ok")
        .assert_report("/tally/sold_by_others", 1)
        .assert_report("/others/0/run", "7")
        .assert_report("/others/0/grab_tickets", false)
        .assert_tickets_left(0);
}

/// A run name from another program's entry is foreign text: the report names that program
/// with its control characters escaped, so "\x1b[2K\rOK:" cannot erase a line and forge one.
// Unix-only: the foreign sale is Python (tests/it/hand_sale.py) under the buyers' flock, which
// the test holds for it.
#[cfg(unix)]
#[test]
fn a_control_sequence_in_a_foreign_run_name_is_shown_escaped() {
    let env = TestEnv::new();
    let run: Live = env
        .race()
        .env("LC_ALL", "C")
        .tickets(40)
        .buyers(2)
        .per_buyer("all")
        .delay("20..30")
        .spawn();
    wait_for_sales(&env, 2);
    hand_sale(
        &env,
        1,
        serde_json::json!({"run": "x\u{1b}[2K\rOK: 40 tickets\nOK: forged"}),
    );
    let run = run.finish();
    run.assert_success()
        .assert_stdout_contains("x\\u{1b}[2K\\rOK: 40 tickets\\nOK: forged")
        .assert_that(
            !run.stdout().lines().any(|l| l.starts_with("OK: forged")),
            "a foreign run name forged a line",
        )
        .assert_that(
            !format!("{}{}", run.stdout(), run.stderr()).contains(['\u{1b}', '\r']),
            "a raw control character from the order log reached the terminal",
        );
}

#[test]
fn racing_buyers_without_the_lock_are_told_they_logged_the_same_order_number() {
    let env = TestEnv::new();
    // Every buyer reads before anyone writes, so all four decide from the same count.
    let all_read_first = "1s 2s 3s 4s 1r 2r 3r 4r 1w 2w 3w 4w";
    let run = env
        .race()
        .no_lock()
        .buyers(4)
        .schedule(all_read_first)
        .run();
    run.assert_success().assert_stdout_contains(" again");
    // Step by step, the narration says what the repeated number means.
    let run = env
        .race()
        .verbose()
        .no_lock()
        .buyers(4)
        .schedule(all_read_first)
        .run();
    run.assert_success()
        .assert_stdout_contains("logged that number too, both deciding from the same stale count");
    // The race's repeated seqs are closed by a resync entry above them all.
    let entries = ledger(&env);
    let last = entries.last().unwrap();
    assert_eq!(last["kind"], "resync");
    let top = entries[..entries.len() - 1]
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .max()
        .unwrap();
    assert_eq!(last["seq"].as_u64().unwrap(), top + 1);
    // And the next locked run trusts the ledger again.
    env.race()
        .keep_stock()
        .buyers(2)
        .delay("0..0")
        .check()
        .quiet()
        .succeeds();
}

/// Every byte of the data file and the order log, to compare before and after a failure.
fn files(env: &TestEnv) -> (Vec<u8>, Vec<u8>) {
    (
        fs::read(&env.data).unwrap(),
        fs::read(env.order_log()).unwrap(),
    )
}

// Unix-only: util-linux prlimit(1) sets the limit.
#[cfg(unix)]
#[test]
fn too_few_descriptors_to_start_every_buyer_fail_before_the_stock_changes() {
    let env = TestEnv::new();
    env.sell_tickets(2);
    let before = files(&env);
    let run = grab_tickets()
        .data(&env.data)
        .buyers(200)
        .configure(|cmd| {
            // The launcher itself starts; its pipes and two hundred buyers do not fit in 10.
            let program = cmd.get_program().to_owned();
            let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
            *cmd = Command::new("prlimit");
            cmd.arg("--nofile=10").arg("--").arg(program).args(args);
        })
        .run();
    run.assert_code(ENVIRONMENT)
        .assert_stderr_contains("Too many open files");
    assert!(files(&env) == before, "the data file or the log changed");
}

/// `cmd` run through `prlimit` with `limit`, as user nobody when the tests run as root
/// (root is exempt from the process limit).
#[cfg(unix)]
fn limited(cmd: &mut Command, limit: &str) {
    use std::os::unix::process::CommandExt;
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    *cmd = Command::new("prlimit");
    cmd.arg(limit).arg("--").arg(program).args(args);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        cmd.uid(65534).gid(65534);
    }
}

// Unix-only: prlimit(1), and a user nobody (root is exempt from the process limit).
#[cfg(unix)]
#[test]
fn too_few_processes_to_start_every_buyer_fail_before_the_stock_changes() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    env.sell_tickets(2);
    for path in [
        env.dir.path(),
        &env.data,
        &env.order_log(),
        &env.lock_file(),
    ] {
        let mode = if path.is_dir() { 0o777 } else { 0o666 };
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }
    let before = files(&env);
    let run = grab_tickets()
        .data(&env.data)
        .buyers(50)
        .configure(|cmd| limited(cmd, "--nproc=4"))
        .run();
    run.assert_code(ENVIRONMENT)
        .assert_stderr_contains("failed to start buyer");
    assert!(files(&env) == before, "the data file or the log changed");
}

#[test]
fn a_damaged_last_entry_is_refused_before_anything_changes() {
    let env = TestEnv::new();
    env.sell_tickets(2);
    let mut log = fs::read(env.order_log()).unwrap();
    let at = log.len() - ENTRY;
    log[at..at + 5].copy_from_slice(b"#####");
    fs::write(env.order_log(), &log).unwrap();
    let before = files(&env);
    env.race()
        .run()
        .assert_code(common::exit::BAD_DATA)
        .assert_stderr_contains("failed to parse order log")
        .assert_stderr_contains(&format!("at line {}", log.len() / ENTRY));
    assert!(files(&env) == before, "the data file or the log changed");
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine: it keeps names as UTF-8 on the Unix side and cannot create one holding an unpaired surrogate, which NTFS allows"
)]
fn a_non_utf8_data_path_races_like_any_other() {
    let env = TestEnv::new();
    // Unix names are bytes (a Latin-1 é); Windows names are UTF-16 (an unpaired surrogate).
    #[cfg(unix)]
    let name = {
        use std::os::unix::ffi::OsStrExt;
        std::ffi::OsStr::from_bytes(b"caf\xe9.json").to_owned()
    };
    #[cfg(windows)]
    let name = {
        use std::os::windows::ffi::OsStringExt;
        let wide: Vec<u16> = "caf"
            .encode_utf16()
            .chain([0xD800])
            .chain(".json".encode_utf16())
            .collect();
        std::ffi::OsString::from_wide(&wide)
    };
    let odd = env.dir.path().join(name);
    grab_tickets()
        .data(&odd)
        .buyers(3)
        .delay("0..0")
        .json()
        .run()
        .assert_success()
        .assert_status("ok")
        .assert_tickets_left(0);
}

// Unix-only: prlimit(1)'s file-size limit, with SIGXFSZ ignored by sh(1), stands in for a full disk.
#[cfg(unix)]
#[test]
fn a_full_disk_mid_race_sells_nothing_it_cannot_finish_and_still_reports() {
    let env = TestEnv::new();
    env.sell_tickets(3); // 4 entries: 640 bytes
    // RLIMIT_FSIZE stands in for a full disk: room for the restock and one order, then the
    // next append is cut short (EFBIG) mid-entry. SIGXFSZ is ignored so the write fails
    // instead of killing the writer, as ENOSPC would.
    let run = grab_tickets()
        .data(&env.data)
        .buyers(4)
        .tickets(3)
        .delay("0..1")
        .json()
        .configure(|cmd| {
            let program = cmd.get_program().to_owned();
            let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
            *cmd = Command::new("sh");
            cmd.arg("-c")
                .arg("trap '' XFSZ; exec prlimit --fsize=1024 -- \"$@\"")
                .arg("sh")
                .arg(program)
                .args(args);
        })
        .run();
    run.assert_code(5)
        .assert_report("/tally/initial", 3)
        .assert_report("/tally/confirmed", 1)
        .assert_report("/tally/remaining", 2)
        .assert_report("/tally/logged", 1)
        .assert_report("/tally/unexplained", 0)
        .assert_status("ok")
        .assert_tickets_left(2);
    run.assert_that(
        run.count_buyers(|b| b["ending"]["how"] == "failed") == 3,
        "three buyers should have failed on the full disk",
    )
    .assert_that(
        run.buyers()
            .iter()
            .filter(|b| b["ending"]["how"] == "failed")
            .all(|b| b["logged"] == 0),
        "a failed buyer left a sale behind",
    );
    // The torn entry was trimmed; the ledger is whole and agrees with the data file, and
    // the failed buyers took their staged data files with them.
    let entries = ledger(&env);
    assert_eq!(entries.len(), 6);
    assert_eq!(env.data_json()["seq"], entries[5]["seq"]);
    run.assert_that(env.temp_files().is_empty(), "staged files were left behind");
}

// Unix-only: prlimit(1)'s file-size limit, with SIGXFSZ ignored by sh(1), stands in for a full disk.
#[cfg(unix)]
#[test]
fn a_full_disk_at_the_restock_leaves_both_files_byte_identical() {
    let env = TestEnv::new();
    env.sell_tickets(1);
    let before = files(&env);
    // Room for 100 bytes of the 160-byte restock entry: it is cut short, then taken back.
    let limit = before.1.len() + 100;
    let run = grab_tickets()
        .data(&env.data)
        .tickets(5)
        .configure(|cmd| {
            let program = cmd.get_program().to_owned();
            let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
            *cmd = Command::new("sh");
            cmd.arg("-c")
                .arg(format!(
                    "trap '' XFSZ; exec prlimit --fsize={limit} -- \"$@\""
                ))
                .arg("sh")
                .arg(program)
                .args(args);
        })
        .run();
    run.assert_code(ENVIRONMENT)
        .assert_stderr_contains("failed to append to order log");
    assert!(files(&env) == before, "the data file or the log changed");
    run.assert_that(env.temp_files().is_empty(), "a staged file was left behind");
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine: a launcher takes about 0.3 s to start here, and the first race is over before the second launcher joins it"
)]
fn a_locked_run_beside_a_race_without_the_lock_blames_the_others_not_itself() {
    let env = TestEnv::new();
    let mut reckless: Live = env
        .race()
        .no_lock()
        .tickets(5)
        .buyers(6)
        .delay("300..300")
        .spawn();
    reckless.wait_for("the buyers reading before their delay", |seen| {
        seen.iter().any(|l| l.contains("read ticket_num"))
    });
    let careful = env
        .race()
        .keep_stock()
        .buyers(2)
        .delay("400..400")
        .json()
        .run();
    reckless.finish();
    careful.assert_success();
    let cause = careful.report()["verdict"]["cause"].as_str().unwrap_or("");
    careful
        .assert_that(
            count(&careful, "/tally/sold_by_others") > 0,
            "the race without the lock sold nothing in this run's window",
        )
        .assert_that(
            cause.contains("others sold from the same stock meanwhile"),
            "the Why does not name the others",
        )
        .assert_status("oversold");
    let line = careful.report()["verdict"]["line"].as_str().unwrap();
    careful.assert_that(
        line.contains("sold by others"),
        "the verdict hides the others' sales",
    );
}

/// Linux reads the gate's holder from /proc/locks; without it (the `portable-unix` path, as on
/// macOS, and Windows, which names no lock holder) the wait says less, but nothing false:
/// "another launcher".
fn gate_wait_wording(holder_pid: u32) -> String {
    if cfg!(any(feature = "portable-unix", windows)) {
        "waiting for the race of another launcher on".to_owned()
    } else {
        format!("waiting for the race of launcher pid {holder_pid} on")
    }
}
