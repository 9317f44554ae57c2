//! libpq's password file as libpq treats it: a file that is not there, or that others may
//! read, is passed over, never a refusal, so a server that asks for no password is reached
//! all the same; when the server does ask, the error says which file was skipped and why.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::{Race, TestEnv};
use crate::pg_cluster::{self, Db, PASSWORD, on};

/// A password file in `dir` holding the password for `db` over TCP, with permission `mode`.
fn passfile_in(dir: &Path, db: &Db, mode: u32) -> std::path::PathBuf {
    let path = dir.join(".pgpass");
    std::fs::write(
        &path,
        format!("127.0.0.1:{}:*:postgres:{PASSWORD}\n", db.port),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// The run with HOME in `env` and no PGPASSFILE, or with PGPASSFILE `file`.
fn with_passfile(race: Race, env: &TestEnv, file: Option<&Path>) -> Race {
    let race = race.env("HOME", &env.path("").display().to_string());
    match file {
        Some(file) => race.env("PGPASSFILE", &file.display().to_string()),
        None => race.configure(|command| {
            command.env_remove("PGPASSFILE");
        }),
    }
}

#[test]
fn a_missing_or_shared_passfile_does_not_stop_a_server_that_asks_for_no_password() {
    let Some(db) = pg_cluster::database("passfile_trust") else {
        return;
    };
    let env = TestEnv::new();
    let shared = passfile_in(&env.path(""), &db, 0o644);
    let missing = env.path("nonexistent");
    // PGPASSFILE naming nothing, PGPASSFILE naming a shared file, and a shared ~/.pgpass.
    for file in [Some(missing.as_path()), Some(shared.as_path()), None] {
        let race = on(&db.url()).args(["--tickets", "3", "--buyers", "2"]);
        let run = with_passfile(race, &env, file).run();
        run.assert_code(0);
    }
}

#[test]
fn a_shared_passfile_is_named_with_its_fix_when_the_server_asks_for_a_password() {
    let Some(db) = pg_cluster::database("passfile_shared") else {
        return;
    };
    let env = TestEnv::new();
    let shared = passfile_in(&env.path(""), &db, 0o644);
    let url = format!("postgres://postgres@127.0.0.1:{}/{}", db.port, db.name);
    let shown = shared.display().to_string();
    // Named by PGPASSFILE, and found as the default ~/.pgpass.
    for file in [Some(shared.as_path()), None] {
        let race = on(&url).args(["--tickets", "3"]).lang("en");
        let run = with_passfile(race, &env, file).run();
        run.assert_code(4).assert_stderr_contains(&format!(
            "the server asks for a password, and the password file {shown} was skipped \
             because others may read or write it (mode 0644), as libpq skips it; \
             run chmod 600 {shown} to use it"
        ));
        assert!(!run.stderr().contains(PASSWORD), "{}", run.context());
        let race = on(&url).args(["--tickets", "3"]).lang("zh");
        with_passfile(race, &env, file)
            .run()
            .assert_code(4)
            .assert_stderr_contains(&format!("运行 chmod 600 {shown} 后它才会被使用"));
    }
    // Made private, the same file logs in.
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o600)).unwrap();
    let race = on(&url).args(["--tickets", "3"]);
    with_passfile(race, &env, Some(&shared))
        .run()
        .assert_code(0);
}

#[test]
fn the_chmod_fix_for_a_skipped_passfile_is_quoted_for_the_shell() {
    let Some(db) = pg_cluster::database("passfile_quoted") else {
        return;
    };
    let env = TestEnv::new();
    let shared = passfile_in(&env.path(""), &db, 0o644);
    let odd = env.path("my pass's $(x)");
    std::fs::rename(&shared, &odd).unwrap();
    let url = format!("postgres://postgres@127.0.0.1:{}/{}", db.port, db.name);
    // One word for sh, whatever the name holds: single quotes, the quote itself escaped.
    let quoted = format!("chmod 600 '{}'", odd.display()).replace("'s", "'\\''s");
    for lang in ["en", "zh"] {
        let race = on(&url).args(["--tickets", "3"]).lang(lang);
        with_passfile(race, &env, Some(&odd))
            .run()
            .assert_code(4)
            .assert_stderr_contains(&quoted);
    }
}
