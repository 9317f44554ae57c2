//! The data file keeps what users put in it: a write changes `ticket_num` and `seq` and not
//! one other byte (field order, spacing, numbers no float can hold), keeps the file's
//! permission bits, and goes through the user's symbolic link to the real file, leaving the
//! link in place.

use crate::common::TestEnv;
#[cfg(unix)]
use crate::common::grab_tickets;
use std::fs;
#[cfg(unix)]
use std::os::unix::fs::{PermissionsExt as _, symlink};

/// `text` with its `"ticket_num"` value replaced and `"seq"` added after it, as grab-tickets
/// writes a hand-written file.
fn with_numbers(text: &str, old_ticket: &str, ticket_num: u64, seq_field: &str) -> String {
    let at = text.find(old_ticket).expect("ticket_num text in the file");
    format!(
        "{}{ticket_num}{seq_field}{}",
        &text[..at],
        &text[at + old_ticket.len()..]
    )
}

#[test]
fn a_run_changes_only_the_two_numbers_and_keeps_every_other_byte() {
    let original = "{\n  \"show\": \"Hamlet\",\n  \"ticket_num\": 3,\n  \"id\": 123456789012345678901234567890,\n  \"price\": 1.50,\n  \"rows\": {\"b\": 2e3, \"a\": -0.0}\n}\n";
    let env = TestEnv::with_data(original);
    let run = env.race().quiet().buyers(2).delay("0..1").succeeds();
    let after = fs::read_to_string(&env.data).unwrap();
    let value: serde_json::Value = serde_json::from_str(&after).unwrap();
    let seq = value["seq"].as_u64().expect("a seq was added");
    let expected = with_numbers(original, "3,", 1, &format!(",\n  \"seq\": {seq},"));
    assert_eq!(after, expected, "{}", run.context());

    // A second run finds the seq where the first put it and changes it in place.
    let run = env
        .race()
        .quiet()
        .buyers(1)
        .tickets(7)
        .delay("0..1")
        .succeeds();
    let again = fs::read_to_string(&env.data).unwrap();
    let value: serde_json::Value = serde_json::from_str(&again).unwrap();
    let new_seq = value["seq"].as_u64().unwrap();
    let expected = with_numbers(original, "3,", 6, &format!(",\n  \"seq\": {new_seq},"));
    assert_eq!(again, expected, "{}", run.context());
}

// Unix-only: permission bits (Windows files have ACLs, not a mode).
#[cfg(unix)]
#[test]
fn a_private_data_file_stays_private() {
    let env = TestEnv::new();
    fs::set_permissions(&env.data, fs::Permissions::from_mode(0o600)).unwrap();
    env.race().quiet().buyers(2).delay("0..1").succeeds();
    for name in ["data.json", "data.json.lock", "data.json.orders"] {
        let mode = fs::metadata(env.path(name)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name} is {mode:o}");
    }
}

// Unix-only: a symbolic link (on Windows making one needs a privilege).
#[cfg(unix)]
#[test]
fn a_symlinked_data_file_is_written_through_and_the_link_kept() {
    let env = TestEnv::new();
    let shared = env.path("shared");
    fs::create_dir(&shared).unwrap();
    let real = shared.join("tickets.json");
    fs::write(
        &real,
        "{\"ticket_num\": 4, \"note\": \"the class's file\"}\n",
    )
    .unwrap();
    let link = env.path("mine.json");
    symlink("shared/tickets.json", &link).unwrap();
    let run = grab_tickets()
        .data(&link)
        .verbose()
        .buyers(3)
        .delay("0..1")
        .succeeds();
    assert!(
        fs::symlink_metadata(&link).unwrap().is_symlink(),
        "the link was replaced{}",
        run.context()
    );
    assert_eq!(
        fs::read_link(&link).unwrap().to_str(),
        Some("shared/tickets.json")
    );
    assert_eq!(
        fs::read_to_string(&real).unwrap(),
        format!(
            "{{\"ticket_num\": 0, \"seq\": {}, \"note\": \"the class's file\"}}\n",
            serde_json::from_slice::<serde_json::Value>(&fs::read(&real).unwrap()).unwrap()["seq"]
        ),
        "{}",
        run.context()
    );
    // The lock file and the log live beside the real file, where everyone sharing it looks.
    assert!(
        shared.join("tickets.json.lock").exists(),
        "{}",
        run.context()
    );
    assert!(shared.join("tickets.json.orders").exists());
    assert!(!env.path("mine.json.lock").exists());
    assert!(!env.path("mine.json.orders").exists());
    let real_dir = fs::canonicalize(&shared).unwrap();
    run.assert_stdout_contains(&format!(
        "lock {}",
        real_dir.join("tickets.json.lock").display()
    ));
}

/// The names in the environment's directory, sorted.
fn names_in(env: &TestEnv) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(env.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_data_file_that_would_outgrow_the_size_limit_is_refused_before_anything_changes() {
    // 65,524 bytes is readable, but with "seq" added and both numbers at their widest it
    // would pass 64 KiB, and every later run would refuse it.
    let frame = "{\"ticket_num\": 3, \"notes\": \"\"}";
    let text = format!(
        "{{\"ticket_num\": 3, \"notes\": \"{}\"}}",
        "x".repeat(65_524 - frame.len())
    );
    let env = TestEnv::with_data(&text);
    for keep in [false, true] {
        let race = env.race().delay("0..0").env("LC_ALL", "C");
        let race = if keep { race.keep_stock() } else { race };
        race.run()
            .assert_code(crate::common::exit::BAD_DATA)
            .assert_stderr_contains("more than the 65536 bytes every reader accepts")
            .assert_stderr_contains("nothing was changed")
            .assert_data_untouched();
    }
    assert_eq!(names_in(&env), ["data.json"]);
    // Trimmed below the limit with room to grow, it races, and the next run reads it.
    let text = format!(
        "{{\"ticket_num\": 3, \"notes\": \"{}\"}}",
        "x".repeat(65_400 - frame.len())
    );
    fs::write(&env.data, text).unwrap();
    env.race().delay("0..0").quiet().succeeds();
    env.race().keep_stock().delay("0..0").quiet().succeeds();
}

#[test]
fn the_largest_seq_is_refused_before_any_change_and_never_passed() {
    let max = i64::MAX as u64;
    let env = TestEnv::with_data(&format!("{{\"ticket_num\": 3, \"seq\": {max}}}\n"));
    env.race()
        .delay("0..0")
        .env("LC_ALL", "C")
        .run()
        .assert_code(crate::common::exit::BAD_DATA)
        .assert_stderr_contains(&format!("is at seq {max}, too close to the largest seq"))
        .assert_data_untouched();
    assert_eq!(names_in(&env), ["data.json"], "sidecars were created");
    // Near the end but with room for this run: it races, and every seq stays in range.
    let near = max - 100;
    fs::write(
        &env.data,
        format!("{{\"ticket_num\": 3, \"seq\": {near}}}\n"),
    )
    .unwrap();
    env.race().buyers(2).delay("0..0").quiet().succeeds();
    env.race().keep_stock().delay("0..0").quiet().succeeds();
    let seq = env.data_json()["seq"].as_u64().unwrap();
    assert!(seq > near && seq <= max, "seq {seq}");
}

#[test]
fn a_log_entry_past_the_largest_seq_is_refused_and_never_wraps() {
    let env = TestEnv::new();
    env.sell_tickets(1);
    let forged = format!(
        "{{\"seq\": {}, \"kind\": \"restock\", \"run\": \"other\", \"buyer\": 0, \"pid\": 0, \"before\": 3, \"after\": 3}}",
        u64::MAX
    );
    let mut log = fs::read(env.order_log()).unwrap();
    log.extend(format!("{forged:<159}\n").into_bytes());
    fs::write(env.order_log(), &log).unwrap();
    for zh in [false, true] {
        let race = env.race().delay("0..0");
        let race = if zh {
            race.lang("zh")
        } else {
            race.env("LC_ALL", "C")
        };
        let run = race.run();
        run.assert_code(crate::common::exit::BAD_DATA)
            .assert_data_untouched();
        if zh {
            run.assert_stderr_contains("超过上限");
        } else {
            run.assert_stderr_contains(&format!("line 3 has seq {}", u64::MAX));
        }
    }
    assert_eq!(fs::read(env.order_log()).unwrap(), log, "the log changed");
}
