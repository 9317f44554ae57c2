#!/usr/bin/env python3
"""Issue 11's benchmark: how long `grab-tickets explore` takes to run every schedule of a race,
and how often each sampler finds the oversell.

    python3 benches/explore.py                 every configuration, 3 repetitions (~2 minutes)
    python3 benches/explore.py --quick         1 repetition, no 4-buyer runs, fewer samples
    python3 benches/explore.py --markdown benches/EXPLORE.md

Builds the release binary, then times `explore --buyers B --tickets 1 [mode] --json` for
B = 2, 3 (and 4 without a lock) in every lock mode, each on a fresh temp data file. Every run's
counts are checked against the figures the pure model in tests/it/explore.rs derives without a
single process (a mismatch makes the script exit 1). Targets: every schedule of 3 buyers,
1 ticket, no lock, in under a minute on this 2-core machine (issue 11); with the write-only
lock, in at most 2 s (issue 22). Then 10 buyers, 1 ticket:
the fraction of sampled schedules that oversell, PCT (depth 3) against uniform choice.
Python 3.11 standard library only.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# .cargo/config.toml names the host's target, so the binary is under target/<host-tuple>/.
HOST = next(line.split()[1] for line in subprocess.run(
    ["rustc", "-vV"], capture_output=True, text=True, check=True).stdout.splitlines()
    if line.startswith("host:"))
BINARY = REPO / "target" / HOST / "release" / "grab-tickets"

MODES = {"none": ["--no-lock"], "write": ["--lock-scope", "write"], "whole": ["--lock-scope", "whole"]}
# (buyers, mode) -> (schedules, orders, oversold, lost updates, ok): what the pure model in
# tests/it/explore.rs counts for 1 ticket (cargo test checks the 2- and 3-buyer rows against it).
EXPECTED = {
    (2, "none"): (6, 20, 2, 0, 4),
    (2, "write"): (10, 82, 6, 0, 4),
    (2, "whole"): (12, 36, 0, 0, 12),
    (3, "none"): (48, 1152, 36, 0, 12),
    (3, "write"): (156, 21018, 144, 0, 12),
    (3, "whole"): (216, 2916, 0, 0, 216),
    (4, "none"): (572, 147168, 540, 0, 32),
}
TARGET_S = 60.0
WRITE_TARGET_S = 2.0


def explore(data: Path, args: list[str]) -> tuple[float, dict]:
    start = time.perf_counter()
    done = subprocess.run([str(BINARY), "explore", "--data", str(data), "--json", *args],
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"explore {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return wall, json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 repetition, fewer samples")
    parser.add_argument("--reps", type=int, help="repetitions of every exhaustive run")
    parser.add_argument("--samples", type=int, help="schedules per sampler run")
    parser.add_argument("--markdown", type=Path, help="also write the tables to this file")
    opts = parser.parse_args()
    reps = opts.reps or (1 if opts.quick else 3)
    samples = opts.samples or (50 if opts.quick else 200)

    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
    load = os.getloadavg()[0]
    lines = [f"# explore benchmark ({time.strftime('%Y-%m-%d %H:%M')}, load {load:.2f}, "
             f"{os.cpu_count()} cores)", "",
             f"`python3 benches/explore.py{' --quick' if opts.quick else ''}`: median of {reps} "
             "run(s), wall time of the whole command (fork to exit).", "",
             "| buyers | lock | schedules | skipped (orders in all) | dead ends | oversold | "
             "lost updates | OK | wall s | per run ms |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    failures = []
    target_s = write_s = None
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.json"
        data.write_text('{"ticket_num": 1}\n')
        for (buyers, mode), expected in EXPECTED.items():
            if opts.quick and buyers > 3:
                continue
            walls = []
            for _ in range(reps):
                wall, doc = explore(data, ["--buyers", str(buyers), "--tickets", "1", *MODES[mode]])
                walls.append(wall)
                got = (doc["schedules"], doc["orders"], doc["oversold"], doc["lost_updates"], doc["ok"])
                if got != expected:
                    failures.append(f"{buyers} buyers, {mode}: counted {got}, the model says {expected}")
            wall = statistics.median(walls)
            runs = doc["schedules"] + doc["dead_ends"]
            if (buyers, mode) == (3, "none"):
                target_s = wall
            if (buyers, mode) == (3, "write"):
                write_s = wall
            lines.append(f"| {buyers} | {mode} | {doc['schedules']} | {doc['skipped']} "
                         f"({doc['orders']}) | {doc['dead_ends']} | {doc['oversold']} | "
                         f"{doc['lost_updates']} | {doc['ok']} | {wall:.2f} | "
                         f"{1e3 * wall / runs:.1f} |")
            print(lines[-1], flush=True)

        lines += ["", f"Sampling 10 buyers, 1 ticket: {samples} schedules per run, seed 1.", "",
                  "| lock | sampler | went wrong | distinct races | wall s |", "|---|---|---|---|---|"]
        for mode in ("none", "write"):
            for sampler in (["--sampler", "pct", "--depth", "2"], ["--sampler", "pct"],
                            ["--sampler", "pct", "--depth", "5"], ["--sampler", "uniform"]):
                wall, doc = explore(data, ["--buyers", "10", "--tickets", "1", *MODES[mode],
                                           "--random", str(samples), "--seed", "1", *sampler])
                kind = doc["settings"]["sampling"]["sampler"]
                name = f"pct depth {kind['depth']}" if kind["kind"] == "pct" else "uniform"
                lines.append(f"| {mode} | {name} | {doc['bad']} of {doc['schedules']} "
                             f"({100 * doc['bad'] / doc['schedules']:.0f} %) | {doc['distinct']} | "
                             f"{wall:.1f} |")
                print(lines[-1], flush=True)

    verdict = (f"Target: every schedule of 3 buyers, 1 ticket, no lock in under {TARGET_S:.0f} s: "
               f"{target_s:.2f} s, {'PASS' if target_s < TARGET_S else 'FAIL'}")
    write_verdict = (f"Target: every schedule of 3 buyers, 1 ticket, write-only lock in at most "
                     f"{WRITE_TARGET_S:.0f} s: {write_s:.2f} s, "
                     f"{'PASS' if write_s <= WRITE_TARGET_S else 'FAIL'}")
    print(write_verdict)
    lines += ["", verdict, "", write_verdict]
    lines += [f"MISMATCH: {f}" for f in failures]
    print(verdict)
    for failure in failures:
        print("MISMATCH:", failure)
    if opts.markdown:
        opts.markdown.write_text("\n".join(lines) + "\n")
    return 1 if failures or target_s >= TARGET_S else 0


if __name__ == "__main__":
    sys.exit(main())
