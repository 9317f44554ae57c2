#!/usr/bin/env python3
"""Interleaved before/after runs of two grab-tickets binaries, with the lesson's Python program
(lesson/grab_tickets.py, multiprocessing.Lock) as the anchor of the start-up workloads:

  W1  10 buyers, 1 ticket, no delay
  W4  1000 buyers, 1000 tickets, no delay (each buyer is one process start-up and one purchase)
  W3  4 buyers selling 2000 tickets (--per-buyer all), durable and --no-fsync, with SQLite
      (benches/anchors/sqlite_anchor.py: FULL/WAL beside durable, OFF/WAL beside --no-fsync)
      as the anchor; --w3=P:T,P:T,... runs W3 at those buyer counts and stock sizes instead

Usage: python3 benches/before_after.py BEFORE_BINARY AFTER_BINARY [REPS] [--only W1,W4,...]
                                       [--w3=2:2000,8:20000]

Every run is verified (grab-tickets: all tickets confirmed, verdict ok; the lesson: nothing
oversold and sold + left == tickets). Prints medians of wall time, of the CPU time (user + sys)
of the whole process tree (os.wait4: the child and every descendant it reaped), and of race_ms,
then each binary's ratio to the anchor. The lesson's buyers search without the lock, so under
load some of them read data.json half-written and stop with an error (the lesson's own bug,
counted in its RESULT line): those buyers skip buying, which only flatters the anchor.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSON = os.path.join(REPO, "lesson", "grab_tickets.py")

args = [a for a in sys.argv[1:] if not a.startswith("--")]
only = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--only=")), None)
grid = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--w3=")), "4:2000")
SQLITE = os.path.join(REPO, "benches", "anchors", "sqlite_anchor.py")
before, after = args[0], args[1]
reps = int(args[2]) if len(args) > 2 else 7
loads = {
    "W1": (10, 1, []),
    "W4": (1000, 1000, []),
}
for cell in grid.split(","):
    p, t = (int(n) for n in cell.split(":"))
    loads["W3 P=%d T=%d durable" % (p, t)] = (p, t, ["--per-buyer", "all"])
    loads["W3 P=%d T=%d no-fsync" % (p, t)] = (p, t, ["--per-buyer", "all", "--no-fsync"])
if only:
    loads = {w: v for w, v in loads.items() if w.split()[0] in only.split(",")}
ANCHORED = ("W1", "W4")


def run(argv):
    """Runs argv to its end; returns (stdout, wall s, user+sys CPU s of the whole tree)."""
    t = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL,
                                 stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - t
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode()
    if child.returncode != 0:
        raise SystemExit("%s exited %d" % (argv[0], child.returncode))
    return text, wall, usage.ru_utime + usage.ru_stime


def measure(name, binary, workload, rep, d):
    buyers, tickets, extra = loads[workload]
    data = os.path.join(d, "data.json")
    if name == "lesson":
        argv = [sys.executable, LESSON, "--lock", "--buyers", str(buyers), "--tickets",
                str(tickets), "--delay-ms", "0..0", "--data", data, "--lang", "en"]
        out, wall, cpu = run(argv)
        res = json.loads(next(l for l in reversed(out.splitlines()) if l.startswith("RESULT "))[7:])
        assert res["oversold"] == 0 and res["sold"] + res["left"] == tickets, res
        return wall, cpu, None
    if name == "sqlite":
        sync = "OFF" if "--no-fsync" in extra else "FULL"
        argv = [sys.executable, SQLITE, "--sync", sync, "--journal", "WAL", "--procs",
                str(buyers), "--tickets", str(tickets), "--db", os.path.join(d, "tickets.db")]
        out, wall, cpu = run(argv)
        res = json.loads(next(l for l in reversed(out.splitlines()) if l.startswith("RESULT "))[7:])
        assert res["verified"], res
        return wall, cpu, res["elapsed_s"] * 1000
    argv = [binary, "--buyers", str(buyers), "--tickets", str(tickets), "--delay-ms", "0..0",
            "--data", data, "--json", "--seed", str(rep + 1)] + extra
    out, wall, cpu = run(argv)
    doc = json.loads(out)
    assert doc["tally"]["confirmed"] == tickets and doc["verdict"]["status"] == "ok", doc["verdict"]
    return wall, cpu, doc["race_ms"]


programs = [("before", before), ("after", after)]
res = {}
for rep in range(reps):
    for w in loads:
        anchor = ("lesson" if w in ANCHORED else "sqlite", None)
        order = programs + [anchor]
        if rep % 2:
            order.reverse()
        for name, binary in order:
            with tempfile.TemporaryDirectory() as d:
                wall, cpu, race = measure(name, binary, w, rep, d)
            r = res.setdefault((w, name), {"wall": [], "cpu": [], "race": []})
            r["wall"].append(wall * 1000)
            r["cpu"].append(cpu * 1000)
            if race is not None:
                r["race"].append(race)

print("load:", open("/proc/loadavg").read().strip(), "reps:", reps, "cpus:", os.cpu_count())
print("%-26s %-7s %9s %9s %9s %10s %18s" % (
    "workload", "program", "wall ms", "cpu ms", "race ms", "tickets/s", "vs anchor"))
for w, (_, tickets, _) in loads.items():
    for name in ("before", "after", "lesson", "sqlite"):
        r = res.get((w, name))
        if not r:
            continue
        wall, cpu = statistics.median(r["wall"]), statistics.median(r["cpu"])
        race = statistics.median(r["race"]) if r["race"] else None
        versus = ""
        if name in ("before", "after") and w in ANCHORED:
            anchor = res[(w, "lesson")]
            versus = "%.3f / %.3f w/c" % (wall / statistics.median(anchor["wall"]),
                                          cpu / statistics.median(anchor["cpu"]))
        elif name in ("before", "after"):
            # Throughput against SQLite's: its race time over ours (higher is faster).
            versus = "%.2fx tickets/s" % (statistics.median(res[(w, "sqlite")]["race"]) / race)
        print("%-26s %-7s %9.1f %9.1f %9s %10s %18s" % (
            w, name, wall, cpu, "%.1f" % race if race else "-",
            "%.0f" % (tickets / race * 1000) if race else "-", versus))
