//! The data file keeps what users put in it: a write changes `ticket_num` and `seq` and not
//! one other byte (field order, spacing, numbers no float can hold), keeps the file's
//! permission bits, and goes through the user's symbolic link to the real file, leaving the
//! link in place.

use crate::common::{TestEnv, grab_tickets};
use std::fs;
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
