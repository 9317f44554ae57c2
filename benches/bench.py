#!/usr/bin/env python3
"""Issue 5's benchmark: grab-tickets against its anchors, in one run, on one filesystem.

    python3 benches/bench.py                 full run (about 8-10 minutes on 2 cores)
    python3 benches/bench.py --quick         smoke run (under a minute)
    python3 benches/bench.py --workloads w3 --procs 8 --tickets 2000,20000
    python3 benches/bench.py --markdown benches/RESULTS.md
    python3 benches/bench.py --workloads w1,w4,explore      the start-up workloads and the explorer

Builds the release binary, compiles benches/floor_probe.c (the raw syscall floor of our write
path), then runs every workload for grab-tickets and its anchors (benches/anchors/ by
default; W1 and W4 against the lesson's own program, lesson/grab_tickets.py), alternating their order on every repetition so drift hits all of them alike. All
data files live in one fresh temporary directory. Every run is verified (grab-tickets:
tally.confirmed == T, remaining == 0, status ok; anchors: their RESULT line says sold == T;
the lesson's program: nothing oversold and sold + left == T, since its buyers search without the
lock and some read a half-written file under load, which it counts as errors);
a failed verification makes the script exit 1 and names the run. Prints one table of medians,
the ratios grab-tickets / anchor, and PASS/FAIL against each target of issue 5.

With PostgreSQL installed (initdb and pg_ctl from `pg_config --bindir` or
/usr/lib/postgresql/*/bin), W3 also runs the database store at the smallest T: the row lock, the
advisory lock, --atomic and --serializable, on a throwaway cluster in the same temp filesystem
(fsync on, like the durable file rows; their --no-fsync rows use synchronous_commit off).
--no-postgres leaves them out.

Measures from outside: whole-run wall (benches/measure.c, fork to wait4), the CPU time (user +
system) of the whole process tree, and the peak RSS of the largest single process in the tree (wait4's ru_maxrss: the launcher or one buyer, never a
sum). Measured inside each program: purchases/s = T / race time (grab-tickets' race_ms, the
anchors' purchases_per_s). Python 3.11 standard library only.
"""
import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCHES = REPO / "benches"
# .cargo/config.toml names the host's target, so the binary is under target/<host-tuple>/.
HOST = next(line.split()[1] for line in subprocess.run(
    ["rustc", "-vV"], capture_output=True, text=True, check=True).stdout.splitlines()
    if line.startswith("host:"))
BINARY = REPO / "target" / HOST / "release" / "grab-tickets"

# What the full run measures; --quick and the command-line options narrow it.
FULL = dict(procs=[2, 4, 8], tickets=[2000, 20000, 200000], reps={2000: 5, 20000: 2, 200000: 1},
            w1_reps=10, w4_reps=3, explore_reps=3, warmup=1, big_procs=[8], floor_n=2000,
            floor_reps=3)
QUICK = dict(procs=[2, 8], tickets=[2000], reps={2000: 2}, w1_reps=3, w4_reps=1, explore_reps=1,
             warmup=0, big_procs=[8], floor_n=1000, floor_reps=1)
# At this T and above only grab-tickets runs: the durable anchors would take minutes each.
BIG_T = 200000
# Cost per purchase at BIG_T is compared with runs at this T made in the same configuration.
REF_T = 2000

# Targets of issue 5.
W1_WALL_RATIO = 0.10
# Targets of issue 22.
W4_RATIO = 0.15
EXPLORE_S = 2.0
DURABLE_VS_SQLITE_WAL_ALL = 1.5
NOFSYNC_VS_SQLITE_OFF = 0.8
NOFSYNC_VS_FLOCK = 1.3
NOFSYNC_VS_FLOOR = 1.25
DURABLE_VS_SQLITE_DELETE = 2.0
DURABLE_VS_SQLITE_WAL = 1.0
COST_GROWTH = 1.2
TARGET_P = 8


@dataclass
class Run:
    """One verified (or not) run of one program."""
    wall_s: float
    peak_mib: float
    ok: bool
    problem: str = ""
    cpu_s: float | None = None  # user + system time of the whole process tree
    pps: float | None = None  # in-program purchases per second
    max_share: float | None = None
    per_buyer: list = field(default_factory=list)


@dataclass
class Program:
    key: str
    label: str
    variant: str  # "durable" or "not durable" (W3); "-" for W1
    tickets: int | None = None  # run at this T instead of the configuration's (references)


@dataclass
class Row:
    workload: str
    program: Program
    procs: int
    tickets: int
    runs: list

    def good(self):
        return [r for r in self.runs if r.ok]

    def median(self, attr):
        values = [getattr(r, attr) for r in self.good() if getattr(r, attr) is not None]
        return statistics.median(values) if values else None

    def worst_share(self):
        shares = [r.max_share for r in self.good() if r.max_share is not None]
        return max(shares) if shares else None


# The database store's modes, as (key, label, flags); "-nofsync" keys add --no-fsync.
PG_MODES = [("pg-row", "PostgreSQL row lock", ["--db-lock", "row"]),
            ("pg-advisory", "PostgreSQL advisory lock", ["--db-lock", "advisory"]),
            ("pg-atomic", "PostgreSQL --atomic", ["--atomic"]),
            ("pg-serial", "PostgreSQL --serializable", ["--serializable"])]


class PgServer:
    """A throwaway PostgreSQL cluster for the database rows: initdb, a private socket dir and
    port, default durability (fsync on). PostgreSQL refuses to run as root, so as root the
    server runs as the `postgres` user (which the postgresql package creates)."""

    def __init__(self):
        self.bin = self.find_bin()
        self.dir = None
        self.port = None
        self.run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @staticmethod
    def find_bin():
        try:
            out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
            candidates = [Path(out.stdout.strip())] if out.returncode == 0 else []
        except FileNotFoundError:
            candidates = []
        candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                             key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
                             reverse=True)
        for d in candidates:
            if (d / "initdb").exists() and (d / "pg_ctl").exists():
                return d
        return None

    def pg(self, *argv):
        return subprocess.run(self.run_as + [str(self.bin / argv[0])] + list(argv[1:]),
                              capture_output=True, text=True, stdin=subprocess.DEVNULL)

    def start(self, parent):
        """Returns the database URL, or None (with the reason printed) if it cannot start."""
        if self.bin is None:
            print("PostgreSQL: initdb/pg_ctl not found; database rows skipped", flush=True)
            return None
        import socket
        self.dir = Path(tempfile.mkdtemp(prefix="gt-bench-pg-", dir=parent))
        (self.dir / "sock").mkdir()
        if self.run_as:
            subprocess.run(["chown", "-R", "postgres", str(self.dir)], check=True)
        r = self.pg("initdb", "-D", str(self.dir / "data"), "-U", "postgres",
                    "--auth-local=trust", "-E", "UTF8")
        if r.returncode != 0:
            print("PostgreSQL: initdb failed: %s" % r.stderr.strip()[-300:], flush=True)
            return None
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        options = "-p %d -c listen_addresses='' -c unix_socket_directories=%s" % (
            self.port, self.dir / "sock")
        r = self.pg("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "log"),
                    "-o", options, "-w", "start")
        if r.returncode != 0:
            print("PostgreSQL: the server did not start: %s" % r.stderr.strip()[-300:])
            return None
        r = self.pg("createdb", "-h", str(self.dir / "sock"), "-p", str(self.port), "bench")
        if r.returncode != 0:
            print("PostgreSQL: createdb failed: %s" % r.stderr.strip()[-300:])
            return None
        socket_dir = str(self.dir / "sock").replace("/", "%2F")
        version = self.pg("postgres", "--version").stdout.strip()
        print("PostgreSQL: %s on a private socket, port %d, fsync on" % (version, self.port),
              flush=True)
        return "postgres://postgres@%s:%d/bench" % (socket_dir, self.port)

    def stop(self):
        if self.dir is None:
            return
        self.pg("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


class Bench:
    def __init__(self, args, plan, tmp):
        self.args = args
        self.plan = plan
        self.tmp = Path(tmp)
        self.failures = []
        self.rows = {}  # (workload, key, P, T) -> Row
        self.floor = {}  # (path, durable) -> median µs/purchase, plus per-step medians
        self.floor_steps = {}
        self.fs_probe = {}
        self.skipped = []
        self.counter = 0
        self.pg_url = None  # set when a PostgreSQL server runs for the database rows

    # ---- running one process -------------------------------------------------------------

    def execute(self, argv, cwd, timeout_s):
        """Runs argv to completion under benches/measure.c; returns
        (exit code, stdout, stderr, wall seconds, peak MiB of the largest single process); the
        tree's CPU seconds are left in self.last_cpu_s.
        Output goes through pipes, not files, so the bench adds no file I/O of its own."""
        done = subprocess.run([str(self.measure_binary), str(int(timeout_s))] + argv, cwd=cwd,
                              capture_output=True, stdin=subprocess.DEVNULL, check=True)
        err = done.stderr.decode(errors="replace")
        err, _, measured = err.rstrip("\n").rpartition("\nMEASURE ")
        wall_ns, maxrss_kib, code, cpu_ns = (int(x) for x in measured.split())
        self.last_cpu_s = cpu_ns / 1e9
        return code, done.stdout.decode(errors="replace"), err, wall_ns / 1e9, maxrss_kib / 1024.0

    def fresh_dir(self, name):
        self.counter += 1
        d = self.tmp / ("%03d-%s" % (self.counter, name))
        d.mkdir()
        return d

    def measure(self, workload, prog, procs, tickets, rep):
        """One run of `prog`, verified; returns a Run (ok=False with the reason on failure)."""
        tickets = prog.tickets or tickets
        d = self.fresh_dir("%s-%s-P%d-T%d" % (workload, prog.key, procs, tickets))
        argv, parse = self.command(workload, prog.key.removesuffix("-ref"), d, procs, tickets, rep)
        timeout = 120 + tickets * 0.004
        rc, out, err, wall, peak = self.execute(argv, d, timeout)
        try:
            run = parse(rc, out, wall, peak, procs, tickets)
        except (ValueError, KeyError, TypeError, IndexError) as e:
            run = Run(wall, peak, False, "unreadable output (%s: %s)" % (type(e).__name__, e))
        run.cpu_s = self.last_cpu_s
        if prog.key.startswith("c-floor"):
            run.max_share = None  # one process sells everything by design
        if run.ok:
            shutil.rmtree(d, ignore_errors=True)
        else:
            where = "%s %s P=%d T=%d %s" % (workload, prog.label, procs, tickets,
                                              "rep %d" % (rep + 1) if rep >= 0 else "warm-up")
            detail = "%s; exit %s; data kept in %s; stderr tail: %s" % (
                run.problem, rc, d, err.strip()[-300:] or "(empty)")
            self.failures.append("%s: %s" % (where, detail))
            print("  VERIFICATION FAILED: %s: %s" % (where, detail), file=sys.stderr, flush=True)
        return run

    # ---- the programs ------------------------------------------------------------------------

    def command(self, workload, key, d, procs, tickets, rep):
        py, anchors = sys.executable, str(self.args.anchors)
        data = str(d / "data.json")
        if key.startswith("pg-"):
            flags = next(f for k, _, f in PG_MODES if key.removesuffix("-nofsync") == k)
            argv = [str(BINARY), "--buyers", str(procs), "--tickets", str(tickets),
                    "--delay-ms", "0..0", "--store", self.pg_url, "--json", "--seed",
                    str(rep + 1), "--per-buyer", "all"] + flags
            if key.endswith("-nofsync"):
                argv.append("--no-fsync")
            return argv, parse_grab_tickets
        if key.startswith("gt"):
            (d / "data.json").write_text('{"ticket_num": 0}\n')
            argv = [str(BINARY), "--buyers", str(procs), "--tickets", str(tickets),
                    "--delay-ms", "0..0", "--data", data, "--json", "--seed", str(rep + 1)]
            if workload == "W3":
                argv += ["--per-buyer", "all"]
            if key == "gt-nofsync":
                argv.append("--no-fsync")
            return argv, parse_grab_tickets
        if key == "lesson":
            return [py, str(REPO / "lesson" / "grab_tickets.py"), "--lock", "--buyers",
                    str(procs), "--tickets", str(tickets), "--delay-ms", "0..0", "--data", data,
                    "--lang", "en"], parse_lesson
        if key in ("seed-lock", "seed-lock-path"):
            # seed-lock runs the interpreter itself; seed-lock-path runs `python3` from PATH, as
            # anchors/RESULTS.md did (here a pyenv shim that adds ~70 ms of start-up).
            interpreter = py if key == "seed-lock" else (shutil.which("python3") or py)
            return [interpreter, anchors + "/seed_lock.py", "--buyers", str(procs),
                    "--tickets", str(tickets), "--delay-ms", "0:0", "--data", data], parse_seed
        if key.startswith("py-flock"):
            argv = [py, anchors + "/throughput_lock.py", "--lock", "flock", "--procs", str(procs),
                    "--tickets", str(tickets), "--data", data]
            if key == "py-flock-fsync":
                argv.append("--fsync")
            return argv, parse_anchor
        if key.startswith("sqlite-"):
            sync, journal = key.split("-")[1:]
            return [py, anchors + "/sqlite_anchor.py", "--sync", sync.upper(), "--journal",
                    journal.upper(), "--procs", str(procs), "--tickets", str(tickets),
                    "--db", str(d / "tickets.db")], parse_anchor
        if key.startswith("c-"):
            mode = "durable" if key.endswith("-fsync") else "lazy"
            # c-floor: one process (the raw floor); c-race: P processes (plus lock hand-off).
            racers = 1 if key.startswith("c-floor") else procs
            return [str(self.floor_binary), "race", str(d), str(tickets), str(racers), mode], \
                parse_anchor
        raise ValueError(key)

    # ---- workloads ---------------------------------------------------------------------------

    def interleaved(self, workload, programs, procs, tickets, reps, warmup):
        """Runs every program `reps` times, reversing the order on odd repetitions (A B, B A)."""
        label = "%s P=%d T=%d" % (workload, procs, tickets)
        for w in range(warmup):
            for prog in programs:
                run = self.measure(workload, prog, procs, tickets, -1 - w)
                print("  %-22s warm-up %-28s %s" % (label, prog.label, brief(run)), flush=True)
        for rep in range(reps):
            order = programs if rep % 2 == 0 else list(reversed(programs))
            for prog in order:
                run = self.measure(workload, prog, procs, tickets, rep)
                row = self.rows.setdefault((workload, prog.key, procs, tickets),
                                           Row(workload, prog, procs, prog.tickets or tickets, []))
                row.runs.append(run)
                print("  %-22s rep %d   %-28s %s" % (label, rep + 1, prog.label, brief(run)),
                      flush=True)

    def w1(self):
        print("W1: 10 buyers, 1 ticket, locked, no delay (%d reps)" % self.plan["w1_reps"], flush=True)
        programs = [Program("gt-durable", "grab-tickets", "-")]
        if not self.args.no_anchors:
            programs.append(Program("lesson", "lesson/grab_tickets.py --lock", "-"))
        self.interleaved("W1", programs, 10, 1, self.plan["w1_reps"], max(1, self.plan["warmup"]))

    def w4(self):
        print("W4: 1000 buyers, 1000 tickets, locked, no delay (%d reps)" % self.plan["w4_reps"],
              flush=True)
        programs = [Program("gt-durable", "grab-tickets", "-")]
        if not self.args.no_anchors:
            programs.append(Program("lesson", "lesson/grab_tickets.py --lock", "-"))
        self.interleaved("W4", programs, 1000, 1000, self.plan["w4_reps"], 0)

    def explore(self):
        """Every schedule of 3 buyers, 1 ticket, write-only lock (issue 22: <= 2 s), its counts
        checked against the pure model's figures in benches/explore.py."""
        sys.path.insert(0, str(BENCHES))
        from explore import EXPECTED  # noqa: E402 (benches/explore.py, beside this file)
        expected = EXPECTED[(3, "write")]
        d = self.fresh_dir("explore")
        (d / "data.json").write_text('{"ticket_num": 1}\n')
        argv = [str(BINARY), "explore", "--buyers", "3", "--tickets", "1", "--lock-scope",
                "write", "--data", str(d / "data.json"), "--json"]
        print("Explore: every schedule of 3 buyers, write-only lock (%d reps)" %
              self.plan["explore_reps"], flush=True)
        for rep in range(self.plan["explore_reps"]):
            rc, out, err, wall, peak = self.execute(argv, d, 300)
            try:
                doc = json.loads(out)
                got = (doc["schedules"], doc["orders"], doc["oversold"], doc["lost_updates"],
                       doc["ok"])
                problem = "" if rc == 0 and got == expected else \
                    "exit %d, counted %s, the model says %s" % (rc, got, expected)
            except (ValueError, KeyError) as e:
                problem = "unreadable output (%s); exit %d; stderr: %s" % (e, rc, err[-300:])
            run = Run(wall, peak, not problem, problem, cpu_s=self.last_cpu_s)
            if problem:
                self.failures.append("explore rep %d: %s" % (rep + 1, problem))
            self.rows.setdefault(("explore", "gt-explore", 3, 1), Row(
                "explore", Program("gt-explore", "explore 3 buyers --lock-scope write", "-"),
                3, 1, [])).runs.append(run)
            print("  explore rep %d   %s" % (rep + 1, brief(run)), flush=True)

    def w3(self):
        for tickets in self.plan["tickets"]:
            reps = self.args.reps or self.plan["reps"].get(tickets, 1)
            big = tickets >= BIG_T
            procs_list = [p for p in self.plan["procs"] if not big or p in self.plan["big_procs"]]
            for procs in procs_list:
                programs = [Program("gt-durable", "grab-tickets", "durable"),
                            Program("gt-nofsync", "grab-tickets --no-fsync", "not durable")]
                if big:
                    note = "T=%d P=%d: anchors and C floor skipped (minutes per run); " \
                           "grab-tickets only" % (tickets, procs)
                    if note not in self.skipped:
                        self.skipped.append(note)
                    # Cost growth is judged against T=REF_T runs made right before and after
                    # each big run, so that load drift on this shared machine hits both.
                    refs = [Program(p.key + "-ref", "%s (T=%d ref)" % (p.label, REF_T), p.variant,
                                    REF_T) for p in programs]
                    programs = refs + programs + refs
                elif not self.args.no_anchors:
                    programs += [
                        Program("py-flock", "py flock (anchor)", "not durable"),
                        Program("sqlite-off-wal", "SQLite OFF/WAL", "not durable"),
                        Program("c-floor", "C floor, 1 process", "not durable"),
                        Program("c-race", "C same syscalls, P procs", "not durable"),
                        Program("py-flock-fsync", "py flock --fsync (anchor)", "durable"),
                        Program("sqlite-full-delete", "SQLite FULL/DELETE", "durable"),
                        Program("sqlite-full-wal", "SQLite FULL/WAL", "durable"),
                        Program("c-floor-fsync", "C floor, 1 process", "durable"),
                        Program("c-race-fsync", "C same syscalls, P procs", "durable"),
                    ]
                # The database rows: at the smallest T only (a server round trip per step makes
                # them 10-100x slower than the file, so larger T adds minutes, not insight).
                if self.pg_url and tickets == min(self.plan["tickets"]) and not big:
                    for key, label, _ in PG_MODES:
                        programs.append(Program(key, label, "durable"))
                        programs.append(Program(key + "-nofsync", label + " --no-fsync",
                                                "not durable"))
                variants = self.args.variants
                programs = [p for p in programs if p.variant in variants]
                print("W3: P=%d T=%d, %d reps: %s" % (procs, tickets, reps,
                      ", ".join(p.label for p in programs)), flush=True)
                warmup = self.plan["warmup"] if tickets == min(self.plan["tickets"]) else 0
                self.interleaved("W3", programs, procs, tickets, reps, warmup)

    def floors(self):
        """Single-process floor of our exact per-purchase syscall sequence (C, gcc -O2), and
        the anchors' own fs_probe.py (Python, temp + os.replace)."""
        n, reps = self.plan["floor_n"], self.plan["floor_reps"]
        print("Floor: floor_probe single, N=%d, %d reps; fs_probe.py" % (n, reps), flush=True)
        samples = {}
        for rep in range(reps):
            for path in ("exchange", "spare"):
                for mode in ("lazy", "durable"):
                    d = self.fresh_dir("floor-%s-%s" % (path, mode))
                    rc, out, err, _, _ = self.execute(
                        [str(self.floor_binary), "single", str(d), str(n), mode, path], d, 120)
                    res = result_line(out) if rc == 0 else None
                    if res is None or res.get("sold") != n:
                        self.failures.append("floor_probe single %s %s rep %d: exit %s, %s" % (
                            path, mode, rep, rc, err.strip()[-200:]))
                        continue
                    samples.setdefault((path, mode == "durable"), []).append(res)
                    shutil.rmtree(d, ignore_errors=True)
        for k, results in samples.items():
            self.floor[k] = statistics.median(r["us_per_purchase"] for r in results)
            self.floor_steps[k] = {s: statistics.median(r["steps_us"][s] for r in results)
                                   for s in results[0]["steps_us"]}
        if self.args.no_anchors:
            return
        d = self.fresh_dir("fs-probe")
        shutil.copy(self.args.anchors / "fs_probe.py", d)  # it writes under its own folder
        rc, out, err, _, _ = self.execute([sys.executable, "fs_probe.py", "2000"], d, 300)
        for line in out.splitlines():
            if line.endswith("us/op"):
                name, value = line[:34].strip(), float(line[34:].split()[0])
                self.fs_probe[name] = value
        shutil.rmtree(d, ignore_errors=True)

    # ---- the report ----------------------------------------------------------------------------

    def get(self, workload, key, procs, tickets):
        return self.rows.get((workload, key, procs, tickets))

    def ratio(self, workload, key_a, key_b, procs, tickets, attr="pps"):
        a, b = self.get(workload, key_a, procs, tickets), self.get(workload, key_b, procs, tickets)
        if not a or not b or a.median(attr) is None or b.median(attr) is None:
            return None
        return a.median(attr) / b.median(attr)

    def table(self):
        head = ["workload", "program", "variant", "P", "T", "runs", "purchases/s", "us/purchase",
                "wall s", "cpu s", "max share (worst)", "peak MiB", "grab-tickets vs anchors"]
        lines = []
        order = ["gt-explore", "lesson", "gt-durable-ref", "gt-nofsync-ref", "gt-durable", "gt-nofsync", "seed-lock", "seed-lock-path", "py-flock", "sqlite-off-wal", "c-floor",
                 "c-race", "py-flock-fsync", "sqlite-full-delete", "sqlite-full-wal",
                 "c-floor-fsync", "c-race-fsync"] + \
            [k + suffix for k, _, _ in PG_MODES for suffix in ("", "-nofsync")]
        keys = sorted(self.rows, key=lambda k: (k[0], k[3], k[2], order.index(k[1])))
        for workload, key, procs, tickets in keys:
            row = self.rows[(workload, key, procs, tickets)]
            pps, wall = row.median("pps"), row.median("wall_s")
            share, worst = row.median("max_share"), row.worst_share()
            cells = [workload, row.program.label, row.program.variant, str(procs), str(row.tickets),
                     "%d/%d" % (len(row.good()), len(row.runs)),
                     "%.0f" % pps if pps and workload == "W3" else "-",
                     "%.1f" % (1e6 / pps) if pps and workload == "W3" else "-",
                     "%.3f" % wall if wall is not None else "-",
                     "%.3f" % row.median("cpu_s") if row.median("cpu_s") is not None else "-",
                     "%.2f (%.2f)" % (share, worst) if share is not None and workload == "W3"
                     else "-",
                     "%.1f" % row.median("peak_mib") if row.good() else "-",
                     self.versus(workload, key, procs, tickets)]
            lines.append(cells)
        return head, lines

    def versus(self, workload, key, procs, tickets):
        if workload in ("W1", "W4") and key == "gt-durable":
            r = self.ratio(workload, "gt-durable", "lesson", procs, tickets, "wall_s")
            r2 = self.ratio(workload, "gt-durable", "lesson", procs, tickets, "cpu_s")
            return ", ".join(part for part in [
                "wall %.3fx lesson" % r if r else "",
                "cpu %.3fx lesson" % r2 if r2 else ""] if part)
        if workload == "W3" and key.startswith("pg-"):
            file_key = "gt-nofsync" if key.endswith("-nofsync") else "gt-durable"
            r = self.ratio("W3", key, file_key, procs, tickets)
            return "%.2fx the file store" % r if r else ""
        if workload != "W3" or not key.startswith("gt") or key.endswith("-ref"):
            return ""
        if tickets >= BIG_T:
            r = self.ratio("W3", key + "-ref", key, procs, tickets)
            return "cost %.2fx T=%d ref" % (r, REF_T) if r else ""
        durable = key == "gt-durable"
        anchors = [("py-flock-fsync", "pyflock+fsync"), ("sqlite-full-delete", "SQL FULL/DEL"),
                   ("sqlite-full-wal", "SQL FULL/WAL"), ("c-race-fsync", "C P procs")] if durable \
            else [("py-flock", "pyflock"), ("sqlite-off-wal", "SQL OFF/WAL"), ("c-race", "C P procs")]
        parts = []
        for anchor, name in anchors:
            r = self.ratio("W3", key, anchor, procs, tickets)
            if r:
                parts.append("%.2fx %s" % (r, name))
        r = self.ratio("W3", "c-floor-fsync" if durable else "c-floor", key, procs, tickets)
        if r:
            parts.append("cost %.2fx floor" % r)
        return ", ".join(parts)

    def targets(self):
        """[(target, measured, verdict)] for every target of issue 5 that this run measured."""
        out = []

        def verdict(values, ok):
            return "SKIP" if not values else ("PASS" if all(ok(v) for v in values) else "FAIL")

        for workload, procs, tickets, goal in (("W1", 10, 1, W1_WALL_RATIO),
                                               ("W4", 1000, 1000, W4_RATIO)):
            for attr, name in (("wall_s", "wall"), ("cpu_s", "CPU (user + sys, whole tree)")):
                r = self.ratio(workload, "gt-durable", "lesson", procs, tickets, attr)
                out.append(("%s %s <= %.2fx lesson/grab_tickets.py" % (workload, name, goal),
                            "gt/lesson = %.3f" % r if r else "not measured",
                            verdict([r] if r else [], lambda v, goal=goal: v <= goal)))
        row = self.get("explore", "gt-explore", 3, 1)
        wall = row.median("wall_s") if row else None
        out.append(("explore: every schedule of 3 buyers, write-only lock, <= %.0f s" % EXPLORE_S,
                    "%.2f s" % wall if wall is not None else "not measured",
                    verdict([wall] if wall is not None else [], lambda v: v <= EXPLORE_S)))

        def per_row(key_a, key_b, only_p=None):
            found = []
            for (w, k, p, t) in sorted(self.rows, key=lambda k: (k[3], k[2])):
                if w == "W3" and k == key_a and (only_p is None or p == only_p):
                    v = self.ratio("W3", key_a, key_b, p, t)
                    if v:
                        found.append(((p, t), v))
            return found

        def show(found, fmt="%.2fx"):
            return ", ".join(("P%d/T%d " + fmt) % (p, t, v) for (p, t), v in found) or "not measured"

        found = per_row("gt-durable", "sqlite-full-wal")
        out.append(("W3 durable >= %.1fx SQLite FULL/WAL at every P, T (issue 22)" % (
            DURABLE_VS_SQLITE_WAL_ALL), show(found),
            verdict([v for _, v in found], lambda v: v >= DURABLE_VS_SQLITE_WAL_ALL)))
        found = [f for f in per_row("gt-nofsync", "sqlite-off-wal") if f[0][0] in (2, 8)]
        out.append(("W3 not durable >= %.1fx SQLite OFF/WAL at P=2 and P=8 (issue 22)" % (
            NOFSYNC_VS_SQLITE_OFF), show(found),
            verdict([v for _, v in found], lambda v: v >= NOFSYNC_VS_SQLITE_OFF)))

        found = per_row("gt-nofsync", "py-flock")
        out.append(("W3 not durable >= %.1fx py flock (every P, T)" % NOFSYNC_VS_FLOCK, show(found),
                    verdict([v for _, v in found], lambda v: v >= NOFSYNC_VS_FLOCK)))

        # Cost ratio = floor's purchases/s over ours = our µs/purchase over the floor's, with the
        # floor measured interleaved with our runs at the same T (one C process, same syscalls).
        found = [(pt, 1 / v) for pt, v in per_row("gt-nofsync", "c-floor")]
        out.append(("W3 not durable cost <= %.2fx floor (C, our syscalls, 1 process)" % (
            NOFSYNC_VS_FLOOR), show(found),
            verdict([v for _, v in found], lambda v: v <= NOFSYNC_VS_FLOOR)))
        found = [(pt, 1 / v) for pt, v in per_row("gt-nofsync", "c-race")]
        out.append(("(info) W3 not durable cost / C same syscalls at the same P", show(found), "info"))
        found = [(pt, 1 / v) for pt, v in per_row("gt-durable", "c-floor-fsync")]
        out.append(("(info) W3 durable cost / durable floor (no target)", show(found), "info"))

        found = per_row("gt-durable", "sqlite-full-delete", TARGET_P)
        info = per_row("gt-durable", "sqlite-full-delete")
        out.append(("W3 durable >= %.0fx SQLite FULL/DELETE at P=%d" % (
            DURABLE_VS_SQLITE_DELETE, TARGET_P), show(found) + " | all P: " + show(info),
            verdict([v for _, v in found], lambda v: v >= DURABLE_VS_SQLITE_DELETE)))
        found = per_row("gt-durable", "sqlite-full-wal", TARGET_P)
        info = per_row("gt-durable", "sqlite-full-wal")
        out.append(("W3 durable >= %.0fx SQLite FULL/WAL at P=%d" % (
            DURABLE_VS_SQLITE_WAL, TARGET_P), show(found) + " | all P: " + show(info),
            verdict([v for _, v in found], lambda v: v >= DURABLE_VS_SQLITE_WAL)))

        for key, name in (("gt-durable", "durable"), ("gt-nofsync", "not durable")):
            found = []
            for (w, k, p, t), row in self.rows.items():
                if w == "W3" and k == key and t >= BIG_T:
                    small = self.get("W3", key + "-ref", p, t)
                    if small and small.median("pps") and row.median("pps"):
                        found.append(((p, t), small.median("pps") / row.median("pps")))
            out.append(("W3 %s cost/purchase T=%d <= %.1fx T=%d (interleaved refs)" % (
                name, BIG_T, COST_GROWTH, REF_T),
                show(sorted(found)), verdict([v for _, v in found], lambda v: v <= COST_GROWTH)))

        for key, name in (("gt-durable", "durable"), ("gt-nofsync", "not durable")):
            found = []
            for (w, k, p, t), row in sorted(self.rows.items(), key=lambda i: i[0][3]):
                if w == "W3" and k == key and p == TARGET_P and row.worst_share() is not None:
                    found.append(((p, t), row.worst_share()))
            out.append(("W3 %s fairness at P=%d: every run's max share <= 2/P = %.2f" % (
                name, TARGET_P, 2 / TARGET_P), show(found, "%.2f"),
                verdict([v for _, v in found], lambda v: v <= 2 / TARGET_P)))
        return out

    def report(self, markdown_path=None):
        head, lines = self.table()
        widths = [max(len(head[i]), *(len(l[i]) for l in lines)) if lines else len(head[i])
                  for i in range(len(head))]
        print()
        print("Results (medians of verified runs; purchases/s measured inside each program)")
        print("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip())
        for l in lines:
            print("  ".join(c.ljust(w) for c, w in zip(l, widths)).rstrip())
        print()
        print("Raw floor, one process, no contention (C, benches/floor_probe.c, median us/purchase):")
        for line in self.floor_lines():
            print("  " + line)
        if self.fs_probe:
            print("Anchors' fs_probe.py (Python): " + ", ".join(
                "%s %.1f" % (k, v) for k, v in self.fs_probe.items()))
        for note in self.skipped:
            print("Skipped: " + note)
        print()
        print("Targets (issues 5 and 22)")
        targets = self.targets()
        for name, measured, v in targets:
            print("  %-4s  %s: %s" % (v, name, measured))
        if markdown_path:
            self.write_markdown(markdown_path, head, lines, targets)
        return targets

    def floor_lines(self):
        lines = []
        for (path, durable), us in sorted(self.floor.items()):
            steps = self.floor_steps[(path, durable)]
            what = "our write path (temp create + RENAME_EXCHANGE + unlink)" if path == "exchange" \
                else "what-if: overwrite a kept spare file + RENAME_EXCHANGE"
            lines.append("%-11s %6.1f us  %s; steps: %s" % (
                "durable" if durable else "not durable", us, what,
                " ".join("%s %.1f" % (k, v) for k, v in steps.items() if v >= 0.05)))
        return lines

    def write_markdown(self, path, head, lines, targets):
        env = self.env
        md = ["# grab-tickets benchmark (issue 5)", "",
              "Command: `%s`" % " ".join(["python3", "benches/bench.py"] + sys.argv[1:]), "",
              "Environment: " + "; ".join("%s: %s" % kv for kv in env.items()), "",
              "Medians of verified runs; purchases/s measured inside each program (T / race time); "
              "wall s = whole run, start to reap; peak MiB = largest single process (wait4 ru_maxrss); "
              "max share = largest fraction of T one buyer got (median, worst run in brackets).", "",
              "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        md += ["| " + " | ".join(c.replace("|", "/") for c in l) + " |" for l in lines]
        md += ["", "Raw floor, one process, no contention (C, `benches/floor_probe.c`):", ""]
        md += ["- " + l for l in self.floor_lines()]
        if self.fs_probe:
            md += ["- anchors' `fs_probe.py` (Python): " + ", ".join(
                "%s %.1f us" % (k, v) for k, v in self.fs_probe.items())]
        md += ["- skipped: " + n for n in self.skipped]
        md += ["", "## Targets", "", "| verdict | target | measured |", "|---|---|---|"]
        md += ["| %s | %s | %s |" % (v, n, m.replace("|", "/")) for n, m, v in targets]
        if self.failures:
            md += ["", "## Failed verifications", ""] + ["- " + f for f in self.failures]
        Path(path).write_text("\n".join(md) + "\n")
        print("Wrote %s" % path)


# ---- parsing each program's output --------------------------------------------------------------

def result_line(out):
    for line in reversed(out.strip().splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    return None


def parse_grab_tickets(rc, out, wall, peak, procs, tickets):
    doc = json.loads(out)
    tally, status = doc["tally"], doc["verdict"]["status"]
    per_buyer = [b["confirmed"] for b in doc["buyers"]]
    problems = []
    if rc != 0:
        problems.append("exit status %d" % rc)
    if status != "ok":
        problems.append("verdict %s" % status)
    if tally["confirmed"] != tickets or tally["remaining"] != 0:
        problems.append("confirmed %d, remaining %d, expected %d and 0" % (
            tally["confirmed"], tally["remaining"], tickets))
    if tally["oversold"] or tally["lost_updates"] or sum(per_buyer) != tickets:
        problems.append("oversold %d, lost_updates %d, buyers confirmed %d" % (
            tally["oversold"], tally["lost_updates"], sum(per_buyer)))
    race_s = doc["race_ms"] / 1000.0
    return Run(wall, peak, not problems, "; ".join(problems),
               pps=tickets / race_s if race_s > 0 else None,
               max_share=max(per_buyer) / tickets if tickets else None, per_buyer=per_buyer)


def parse_lesson(rc, out, wall, peak, procs, tickets):
    """The lesson's program: with its lock nothing may be oversold, and every ticket is either
    sold or left. Its buyers search without the lock, so under load some read a half-written
    data.json and stop (counted in `errors`): they skip buying, which only flatters the anchor."""
    res = result_line(out)
    if res is None:
        return Run(wall, peak, False, "no RESULT line")
    ok = rc == 0 and res["oversold"] == 0 and res["sold"] + res["left"] == tickets \
        and res["sold"] <= tickets
    return Run(wall, peak, ok, "" if ok else "RESULT %s" % json.dumps(res))


def parse_seed(rc, out, wall, peak, procs, tickets):
    res = result_line(out)
    if res is None:
        return Run(wall, peak, False, "no RESULT line")
    ok = rc == 0 and res["confirmed"] == tickets and res["final_ticket_num"] == 0 \
        and res["oversold"] == 0
    return Run(wall, peak, ok, "" if ok else "RESULT %s" % json.dumps(res))


def parse_anchor(rc, out, wall, peak, procs, tickets):
    res = result_line(out)
    if res is None:
        return Run(wall, peak, False, "no RESULT line")
    final = res.get("final_ticket_num", res.get("final_n", 0))
    ok = rc == 0 and res["sold"] == tickets and final == 0 and not res.get("child_errors")
    per = res.get("per_proc", [])
    return Run(wall, peak, ok, "" if ok else "RESULT %s" % json.dumps(res),
               pps=res["purchases_per_s"], max_share=max(per) / tickets if per else None,
               per_buyer=per)


def brief(run):
    if not run.ok:
        return "FAILED: " + run.problem
    s = "wall %.3fs peak %.1fMiB" % (run.wall_s, run.peak_mib)
    if run.cpu_s is not None:
        s += " cpu %.3fs" % run.cpu_s
    if run.pps:
        s += " %8.0f/s" % run.pps
    if run.max_share is not None:
        s += " share %.2f" % run.max_share
    return s


# ---- set-up ---------------------------------------------------------------------------------------

def environment(tmp):
    mount = ("?", "?", "?")
    best = ""
    with open("/proc/mounts") as f:
        for line in f:
            dev, point, fstype, opts = line.split()[:4]
            if str(tmp).startswith(point) and len(point) > len(best):
                best, mount = point, (dev, fstype, opts)
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "commit": commit or "?", "kernel": platform.release(), "cpus": os.cpu_count(),
            "python": "%s (%s)" % (platform.python_version(), sys.executable),
            "sqlite": sqlite3.sqlite_version,
            "load average": " ".join(open("/proc/loadavg").read().split()[:3]),
            "temp dir": "%s on %s %s (%s)" % (tmp, mount[0], mount[1], mount[2])}


def build(args, tmp):
    print("Building: cargo build --release", flush=True)
    r = subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO)
    if r.returncode != 0 or not BINARY.exists():
        sys.exit("bench: cargo build --release failed")
    built = []
    for name in ("floor_probe", "measure"):
        print("Building: gcc -O2 benches/%s.c" % name, flush=True)
        binary = Path(tmp) / name
        r = subprocess.run(["gcc", "-O2", "-Wall", "-o", str(binary), str(BENCHES / (name + ".c"))])
        if r.returncode != 0:
            sys.exit("bench: gcc failed to build benches/%s.c (is gcc installed?)" % name)
        built.append(binary)
    return built


def int_list(text):
    return [int(x.replace("_", "")) for x in text.split(",") if x]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Targets and method: see the module docstring.")
    ap.add_argument("--quick", action="store_true", help="smoke run: T=2000, P=2,8, 2 reps")
    ap.add_argument("--workloads", default="w1,w4,explore,w3,floor",
                    help="comma list of w1, w4, explore, w3, floor (default: all)")
    ap.add_argument("--procs", type=int_list, help="W3 buyer counts (default 2,4,8)")
    ap.add_argument("--tickets", type=int_list, help="W3 stock sizes (default 2000,20000,200000)")
    ap.add_argument("--big-procs", type=int_list,
                    help="buyer counts run at T=%d (default 8)" % BIG_T)
    ap.add_argument("--reps", type=int, help="repetitions per W3 configuration (default by T)")
    ap.add_argument("--variants", default="durable,not durable",
                    help="W3 variants: 'durable', 'not durable' (comma list)")
    ap.add_argument("--no-anchors", action="store_true", help="run grab-tickets only")
    ap.add_argument("--no-postgres", action="store_true",
                    help="leave out the database store's rows (no PostgreSQL server)")
    ap.add_argument("--anchors", type=Path, default=REPO / "benches" / "anchors",
                    help="folder of the anchor programs (default benches/anchors)")
    ap.add_argument("--tmpdir", help="where to make the temp dir (default: system temp)")
    ap.add_argument("--markdown", help="also write the results as markdown to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args()
    args.variants = [v.strip() for v in args.variants.split(",")]
    workloads = {w.strip().lower() for w in args.workloads.split(",")}
    unknown = workloads - {"w1", "w4", "explore", "w3", "floor"}
    if unknown:
        ap.error("unknown workload(s): %s" % ", ".join(sorted(unknown)))
    if not args.no_anchors and not (args.anchors / "throughput_lock.py").exists():
        ap.error("anchors not found in %s; pass --anchors DIR or --no-anchors" % args.anchors)

    plan = dict(QUICK if args.quick else FULL)
    for name in ("procs", "tickets", "big_procs"):
        if getattr(args, name):
            plan[name] = getattr(args, name)

    tmp = tempfile.mkdtemp(prefix="grab-tickets-bench-", dir=args.tmpdir)
    bench = Bench(args, plan, tmp)
    started = time.perf_counter()
    server = PgServer()
    try:
        bench.floor_binary, bench.measure_binary = build(args, tmp)
        bench.env = environment(tmp)  # at the start: date and load average of the run
        print("; ".join("%s: %s" % kv for kv in bench.env.items()), flush=True)
        if "floor" in workloads or "w3" in workloads:
            bench.floors()
        if "w1" in workloads:
            if args.no_anchors:
                bench.skipped.append("W1 anchors (--no-anchors)")
            bench.w1()
        if "w4" in workloads:
            bench.w4()
        if "explore" in workloads:
            bench.explore()
        if "w3" in workloads:
            if not args.no_postgres:
                bench.pg_url = server.start(args.tmpdir)
                if bench.pg_url is None:
                    bench.skipped.append("PostgreSQL rows (no server could be started)")
            bench.w3()
        bench.report(args.markdown)
    finally:
        server.stop()
        if bench.failures or args.keep:
            print("Temp dir kept: %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("Total time %.0f s" % (time.perf_counter() - started))
    if bench.failures:
        print("\n%d run(s) FAILED verification:" % len(bench.failures), file=sys.stderr)
        for f in bench.failures:
            print("  " + f, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
