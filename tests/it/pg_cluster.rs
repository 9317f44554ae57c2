//! A throwaway PostgreSQL cluster for the tests, no mocks: `initdb` and `pg_ctl` from the
//! PostgreSQL packages, on a private socket directory and port. One cluster serves a whole
//! test binary (each test gets a database of its own) and is stopped when the binary exits,
//! failed tests included. PostgreSQL refuses to run as root, so as root (CI) the server runs
//! as the unprivileged `postgres` user, created if missing. Without PostgreSQL a test says
//! loudly that it skipped, unless `GRAB_TICKETS_REQUIRE_POSTGRES=1` (set by `.ci/run`)
//! makes that a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::common::needs::Need;
use crate::common::{self, Race, Run};

/// The binary against the database at `url`. PGPASSWORD is unset: each test says where its
/// password comes from.
pub(crate) fn on(url: &str) -> Race {
    common::grab_tickets()
        .arg("--store")
        .arg(url)
        .configure(|command| {
            command.env_remove("PGPASSWORD");
        })
}

/// A finished run's tally as (initial, confirmed, remaining, logged).
pub(crate) fn tally(run: &Run) -> (u64, u64, u64, u64) {
    let t = run.tally();
    (t.initial, t.confirmed, t.remaining, t.logged)
}

/// The superuser's password, for the tests that log in over TCP with one.
pub(crate) const PASSWORD: &str = "tickets-test-secret";

/// The modes that sell each ticket once on a server: the whole-purchase lock (both kinds),
/// the atomic UPDATE and SERIALIZABLE.
pub(crate) const SAFE_MODES: [&[&str]; 4] = [
    &["--db-lock", "row"],
    &["--db-lock", "advisory"],
    &["--atomic"],
    &["--serializable"],
];
const SERVER_USER: &str = "postgres";
const DIR_PREFIX: &str = "grab-tickets-pg-";

/// A running cluster this process started; stopped and deleted on drop.
pub(crate) struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// Some("postgres") when we are root and the server must run as someone else.
    run_as: Option<&'static str>,
    max_connections: u32,
}

/// One test's own database in a cluster.
pub(crate) struct Db {
    pub name: String,
    pub port: u16,
    socket: PathBuf,
}

impl Db {
    /// `postgres://postgres@%2F...sock:PORT/NAME`: over the private Unix socket, no password.
    pub(crate) fn url(&self) -> String {
        format!(
            "postgres://{SERVER_USER}@{}:{}/{}",
            percent_encode(&self.socket),
            self.port,
            self.name
        )
    }

    /// Over loopback TCP, which asks for a password (scram-sha-256).
    pub(crate) fn tcp_url(&self, password: &str) -> String {
        format!(
            "postgres://{SERVER_USER}:{password}@127.0.0.1:{}/{}",
            self.port, self.name
        )
    }

    /// The binary against this database, with `--json` and `args`.
    pub(crate) fn race(&self, args: &[&str]) -> Run {
        on(&self.url()).json().args(args).run()
    }

    /// The binary against this database with `args`.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        on(&self.url()).args(args).run()
    }

    /// Asserts that `run`'s report agrees with the tables: the stock row is what it says is
    /// left, and the orders table holds exactly the orders it counts for this run.
    pub(crate) fn assert_agrees_with(&self, run: &Run) {
        let (_, _, remaining, logged) = tally(run);
        run.assert_that(
            self.stock().0 == remaining,
            "the stock row is not what the report says is left",
        );
        let id = run.report()["run"]
            .as_str()
            .expect("the report names its run");
        run.assert_that(
            self.orders_of_run(id) == logged,
            "the orders table does not hold the orders the report counts",
        );
    }

    /// Sessions left idle inside a transaction: after a run, the server must have ended
    /// every dead buyer's session and rolled back what it had open.
    pub(crate) fn open_transactions(&self) -> i64 {
        self.client()
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND state LIKE 'idle in transaction%'",
                &[],
            )
            .expect("count open transactions")
            .get(0)
    }

    /// A connection of the test's own, to look at the tables directly.
    pub(crate) fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url(), postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect to test database {}: {e}", self.name))
    }

    /// The stock row: (ticket_num, seq).
    pub(crate) fn stock(&self) -> (u64, u64) {
        let row = self
            .client()
            .query_one("SELECT ticket_num, seq FROM grab_tickets.stock", &[])
            .expect("read the stock row");
        (row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as u64)
    }

    /// Orders (kind 'order') of `run`.
    pub(crate) fn orders_of_run(&self, run: &str) -> u64 {
        let row = self
            .client()
            .query_one(
                "SELECT count(*) FROM grab_tickets.orders WHERE kind = 'order' AND run = $1",
                &[&run],
            )
            .expect("count orders");
        row.get::<_, i64>(0) as u64
    }

    /// Every row of the orders table.
    pub(crate) fn all_orders(&self) -> u64 {
        let row = self
            .client()
            .query_one("SELECT count(*) FROM grab_tickets.orders", &[])
            .expect("count orders");
        row.get::<_, i64>(0) as u64
    }
}

/// The cluster shared by every test of this binary, started on first use; None (after
/// saying so) when PostgreSQL is not installed and not required.
pub(crate) fn shared() -> Option<&'static Cluster> {
    SHARED
        .get_or_init(|| {
            let cluster = Cluster::start()?;
            register_stop_at_exit();
            Some(cluster)
        })
        .as_ref()
}

static SHARED: OnceLock<Option<Cluster>> = OnceLock::new();

/// A fresh database for `test` in the shared cluster, or None when the test must skip.
pub(crate) fn database(test: &str) -> Option<Db> {
    let Some(cluster) = shared() else {
        skipped(test);
        return None;
    };
    Some(cluster.create_database(test))
}

/// Says, past the test harness's output capture, that `test` did not run (named by the test
/// harness's thread, which carries the test's name).
pub(crate) fn skipped(test: &str) {
    Need::Postgres.missing(test);
}

fn required() -> bool {
    Need::Postgres.required()
}

impl Cluster {
    /// Starts a cluster of its own (for a test that restarts it); None if PostgreSQL is
    /// missing and not required.
    pub(crate) fn start() -> Option<Cluster> {
        Cluster::start_with_max_connections(300)
    }

    /// Starts a cluster of its own that takes at most `max_connections` clients.
    pub(crate) fn start_with_max_connections(max_connections: u32) -> Option<Cluster> {
        let Some(bin) = find_bin_dir() else {
            assert!(
                !required(),
                "GRAB_TICKETS_REQUIRE_POSTGRES=1 but initdb and pg_ctl were not found \
                 (looked in GRAB_TICKETS_PG_BIN, `pg_config --bindir`, /usr/lib/postgresql/*/bin, PATH)"
            );
            return None;
        };
        stop_stale_clusters(&bin);
        let run_as = if rustix::process::geteuid().is_root() {
            ensure_server_user();
            Some(SERVER_USER)
        } else {
            None
        };
        let dir = make_dir(run_as);
        let mut cluster = Cluster {
            bin,
            dir,
            port: 0,
            run_as,
            max_connections,
        };
        cluster.init();
        // A free port can be taken by someone else before the server binds it: try again.
        for _ in 0..5 {
            cluster.port = free_port();
            if cluster.pg_ctl_start() {
                return Some(cluster);
            }
        }
        panic!(
            "the test cluster did not start; its log:\n{}",
            std::fs::read_to_string(cluster.dir.join("log")).unwrap_or_default()
        );
    }

    fn socket_dir(&self) -> PathBuf {
        self.dir.join("sock")
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// `program args` from the PostgreSQL bin directory, as the server's user.
    fn pg(&self, program: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(program);
        let mut command = match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        command.args(args).current_dir(&self.dir);
        command
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", exe.display()))
    }

    fn init(&self) {
        let pwfile = self.dir.join("pw");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        chown_to_server(&pwfile, self.run_as);
        let data = self.data_dir();
        let out = self.pg(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                SERVER_USER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--pwfile",
                pwfile.to_str().unwrap(),
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        assert!(
            out.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn server_options(&self) -> String {
        // fsync off: the tests kill processes, never the power; it keeps them fast.
        format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} \
             -c max_connections={} -c fsync=off -c full_page_writes=off",
            self.port,
            self.socket_dir().display(),
            self.max_connections
        )
    }

    /// `pg_ctl ACTION` on this cluster, with its options and a log file: with `-l` the
    /// server writes to its log, not to our pipe (which it would hold open, and `output()`
    /// would wait for it forever).
    fn pg_ctl(&self, action: &[&str]) -> Output {
        let data = self.data_dir();
        let log = self.dir.join("log");
        let options = self.server_options();
        let mut args = vec![
            "-D",
            data.to_str().unwrap(),
            "-l",
            log.to_str().unwrap(),
            "-o",
            &options,
            "-w",
            "-t",
            "60",
        ];
        args.extend_from_slice(action);
        self.pg("pg_ctl", &args)
    }

    fn pg_ctl_start(&self) -> bool {
        self.pg_ctl(&["start"]).status.success()
    }

    /// Restarts the server, dropping every connection (`-m fast`: sessions are ended and
    /// their open transactions rolled back).
    pub(crate) fn restart(&self) {
        let out = self.pg_ctl(&["-m", "fast", "restart"]);
        assert!(
            out.status.success(),
            "pg_ctl restart failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Stops the server at once (`-m immediate`, a crash), keeping its data for
    /// [`start_again`](Cluster::start_again): what it committed can be counted afterwards.
    pub(crate) fn crash(&self) {
        let out = self.pg_ctl(&["-m", "immediate", "stop"]);
        assert!(
            out.status.success(),
            "pg_ctl stop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts a server [`crash`](Cluster::crash)ed on its own data again.
    pub(crate) fn start_again(&self) {
        assert!(self.pg_ctl_start(), "pg_ctl start failed after a crash");
    }

    pub(crate) fn create_database(&self, test: &str) -> Db {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "{}_{}",
            test.chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .take(40)
                .collect::<String>(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        )
        .to_lowercase();
        let admin = Db {
            name: "postgres".to_string(),
            port: self.port,
            socket: self.socket_dir(),
        };
        admin
            .client()
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("create database {name}: {e}"));
        Db {
            name,
            port: self.port,
            socket: self.socket_dir(),
        }
    }

    /// Stops the server at once (`-m immediate`), as a crash or a pulled plug would; a
    /// second stop (on drop) does nothing.
    pub(crate) fn stop(&self) {
        let data = self.data_dir();
        if !data.exists() {
            return; // stopped and removed already
        }
        let _ = self.pg(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A static is never dropped, so the shared cluster is stopped by an exit handler: libtest
/// ends with `exit`, after passing and failing tests alike.
fn register_stop_at_exit() {
    extern "C" fn stop_shared() {
        if let Some(Some(cluster)) = SHARED.get() {
            cluster.stop();
        }
    }
    // SAFETY: atexit only records a function pointer; stop_shared never unwinds (it ignores
    // every error).
    unsafe {
        libc::atexit(stop_shared);
    }
}

/// Where initdb and pg_ctl are: GRAB_TICKETS_PG_BIN, `pg_config --bindir`, the newest
/// /usr/lib/postgresql/*/bin (Debian), or PATH.
fn find_bin_dir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("GRAB_TICKETS_PG_BIN") {
        return Some(PathBuf::from(dir)).filter(|d| has_tools(d));
    }
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if let Some(dir) = from_pg_config.filter(|d| has_tools(d)) {
        return Some(dir);
    }
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|d| has_tools(d))
        .collect();
    debian.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
    });
    if let Some(dir) = debian.pop() {
        return Some(dir);
    }
    std::env::var_os("PATH").and_then(|path| std::env::split_paths(&path).find(|d| has_tools(d)))
}

/// As root the server needs an unprivileged user; the postgresql package creates one, and
/// a machine without it gets a system user of that name.
fn ensure_server_user() {
    let exists = Command::new("id")
        .arg("-u")
        .arg(SERVER_USER)
        .output()
        .is_ok_and(|o| o.status.success());
    if !exists {
        let status = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
            ])
            .arg(SERVER_USER)
            .status()
            .expect("run useradd");
        assert!(status.success(), "could not create the {SERVER_USER} user");
    }
}

/// A short directory (Unix socket paths are limited to ~107 bytes) named after this process,
/// so a later run can tell a leftover from a live one.
fn make_dir(run_as: Option<&str>) -> PathBuf {
    let dir = tempfile::Builder::new()
        .prefix(&format!("{DIR_PREFIX}{}-", std::process::id()))
        .tempdir_in("/tmp")
        .expect("create the cluster's directory")
        .keep();
    std::fs::create_dir(dir.join("sock")).unwrap();
    chown_to_server(&dir, run_as);
    chown_to_server(&dir.join("sock"), run_as);
    dir
}

fn chown_to_server(path: &Path, run_as: Option<&str>) {
    let Some(user) = run_as else { return };
    let status = Command::new("chown")
        .arg(user)
        .arg(path)
        .status()
        .expect("run chown");
    assert!(status.success(), "chown {user} {}", path.display());
}

/// A test binary killed before its exit handler ran leaves its cluster running: stop the
/// clusters whose process is gone.
fn stop_stale_clusters(bin: &Path) {
    let Ok(entries) = std::fs::read_dir("/tmp") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(DIR_PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<i32>().ok())
        else {
            continue;
        };
        let alive = Path::new(&format!("/proc/{pid}")).exists();
        if !alive {
            let data = entry.path().join("data");
            let _ = Command::new(bin.join("pg_ctl"))
                .args(["-D", data.to_str().unwrap_or(""), "-m", "immediate", "stop"])
                .output();
            let _ = Command::new("runuser")
                .args(["-u", SERVER_USER, "--"])
                .arg(bin.join("pg_ctl"))
                .args(["-D", data.to_str().unwrap_or(""), "-m", "immediate", "stop"])
                .output();
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free port")
}

fn percent_encode(path: &Path) -> String {
    path.to_str()
        .expect("a UTF-8 socket path")
        .replace('%', "%25")
        .replace('/', "%2F")
}
