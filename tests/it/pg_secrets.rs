//! A database password, in the URL's userinfo, its query string or a password file it names,
//! is never printed, never in `--json`, never in an error, and never on a buyer's command line
//! (which `ps` shows anyone) or in its environment: buyers get it on their stdin.

use std::time::{Duration, Instant};

use std::os::unix::fs::PermissionsExt;

use crate::common::TestEnv;
use crate::pg_cluster::{self, Db, PASSWORD, on};

/// The ways a password can sit in a `--store` URL, or be named by it: libpq's password file
/// (`passfile=`, written in `env`, private as libpq requires).
fn urls_with_the_password(db: &Db, env: &TestEnv) -> Vec<String> {
    let plain = format!("postgres://postgres@127.0.0.1:{}/{}", db.port, db.name);
    let passfile = env.path("pgpass");
    std::fs::write(
        &passfile,
        format!(
            "# host:port:db:user:password\n127.0.0.1:{}:*:postgres:{PASSWORD}\n",
            db.port
        ),
    )
    .unwrap();
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o600)).unwrap();
    vec![
        db.tcp_url(PASSWORD),
        format!("{plain}?password={PASSWORD}"),
        format!("{plain}?connect_timeout=5&%70assword={PASSWORD}"),
        format!("{plain}?passfile={}", passfile.display()),
    ]
}

#[test]
fn a_password_in_any_form_of_the_url_is_never_printed() {
    let Some(db) = pg_cluster::database("secret_forms") else {
        return;
    };
    let env = TestEnv::new();
    for url in urls_with_the_password(&db, &env) {
        for how in [&["--json"][..], &["--verbose"][..], &[][..]] {
            let run = on(&url)
                .args(["--buyers", "2", "--tickets", "3", "--delay-ms", "0..1"])
                .args(how)
                .run();
            run.assert_code(0);
            assert_no_password(&run);
        }
    }
    // PGPASSWORD, as psql takes it.
    let plain = format!("postgres://postgres@127.0.0.1:{}/{}", db.port, db.name);
    let run = on(&plain)
        .env("PGPASSWORD", PASSWORD)
        .args(["--json", "--buyers", "2", "--tickets", "3"])
        .run();
    run.assert_code(0);
    assert_no_password(&run);
}

fn assert_no_password(run: &crate::common::Run) {
    for (name, text) in [("stdout", run.stdout()), ("stderr", run.stderr())] {
        assert!(
            !text.contains(PASSWORD),
            "the password is on {name}:\n{}",
            run.context()
        );
    }
}

#[test]
fn a_wrong_password_in_the_query_string_is_not_repeated_in_the_error() {
    let Some(db) = pg_cluster::database("secret_wrong") else {
        return;
    };
    let url = format!(
        "postgres://postgres@127.0.0.1:{}/{}?password=not-the-password",
        db.port, db.name
    );
    let wrong = on(&url).args(["--tickets", "9"]).run();
    wrong
        .assert_code(4)
        .assert_stderr_contains("password authentication failed");
    assert!(
        !wrong.stderr().contains("not-the-password"),
        "{}",
        wrong.context()
    );
}

/// The buyers of the launcher `pid`, once `count` of them have exec'ed as buyers.
fn buyers_of(pid: u32, count: usize) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let children: Vec<u32> = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
            .filter(|child: &u32| {
                std::fs::read_to_string(format!("/proc/{child}/stat")).is_ok_and(|stat| {
                    // The parent pid is the second field after the parenthesised name.
                    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
                    after.split_whitespace().nth(1) == Some(&pid.to_string())
                })
            })
            // A child between fork and exec still shows the launcher's command line: it is a
            // buyer to look at only once it has exec'ed as `grab-tickets buyer --plan ...`.
            .filter(|child| has_execed_as_a_buyer(*child))
            .collect();
        if children.len() >= count {
            return children;
        }
        assert!(
            Instant::now() < deadline,
            "only {children:?} of {count} buyers appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `/proc/PID/cmdline` is a buyer's own (`EXE buyer ...`), not the launcher's it was
/// forked with.
fn has_execed_as_a_buyer(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|cmdline| cmdline.split(|b| *b == 0).nth(1) == Some(b"buyer".as_slice()))
}

#[test]
fn no_buyer_holds_the_password_on_its_command_line_or_in_its_environment_during_a_race() {
    let Some(db) = pg_cluster::database("secret_ps") else {
        return;
    };
    let plain = format!("postgres://postgres@127.0.0.1:{}/{}", db.port, db.name);
    let env = TestEnv::new();
    let mut launches: Vec<crate::common::Race> = urls_with_the_password(&db, &env)
        .iter()
        .map(|url| on(url))
        .collect();
    // PGPASSWORD in the launcher's own environment is not passed on to its buyers either.
    launches.push(on(&plain).env("PGPASSWORD", PASSWORD));
    for launch in launches {
        // Each buyer waits two seconds between its read and its write, so all are alive to
        // be looked at; the test waits for them to appear, not for a time.
        let live = launch
            .json()
            .args([
                "--buyers",
                "3",
                "--tickets",
                "3",
                "--delay-ms",
                "2000..2001",
            ])
            .spawn();
        let buyers = buyers_of(live.pid(), 3);
        for buyer in &buyers {
            let cmdline = std::fs::read(format!("/proc/{buyer}/cmdline")).unwrap();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            assert!(cmdline.contains("buyer"), "not a buyer: {cmdline}");
            assert!(
                !cmdline.contains(PASSWORD),
                "buyer {buyer}'s command line, which ps shows to anyone, has the password: \
                 {cmdline}"
            );
            // The environment is the buyer's own user's to read, and inherited by anything
            // it starts: the password comes on its stdin instead.
            let environ = std::fs::read(format!("/proc/{buyer}/environ")).unwrap();
            let holding: Vec<String> = String::from_utf8_lossy(&environ)
                .split('\0')
                .filter(|pair| pair.contains(PASSWORD))
                .map(|pair| pair.split('=').next().unwrap_or_default().to_string())
                .collect();
            assert!(
                holding.is_empty(),
                "buyer {buyer}'s environment has the password in {holding:?}"
            );
        }
        let run = live.finish();
        run.assert_code(0);
        assert_eq!(
            crate::pg_cluster::tally(&run).1,
            3,
            "the buyers logged in and sold{}",
            run.context()
        );
    }
}
