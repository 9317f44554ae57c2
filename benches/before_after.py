#!/usr/bin/env python3
"""Interleaved before/after runs of two grab-tickets binaries: W1 (10 buyers, 1 ticket) and
W3 (P=4 buyers selling T=2000 tickets, --per-buyer all), durable and --no-fsync.
Usage: python3 benches/before_after.py BEFORE_BINARY AFTER_BINARY [REPS]. Prints medians of wall time and race_ms."""
import json, os, statistics, subprocess, sys, tempfile, time

before, after = sys.argv[1], sys.argv[2]
reps = int(sys.argv[3]) if len(sys.argv) > 3 else 11
loads = {
    "W1": ["--buyers", "10", "--tickets", "1", "--delay-ms", "0..0"],
    "W3 durable": ["--buyers", "4", "--tickets", "2000", "--delay-ms", "0..0", "--per-buyer", "all"],
    "W3 no-fsync": ["--buyers", "4", "--tickets", "2000", "--delay-ms", "0..0", "--per-buyer", "all",
                    "--no-fsync"],
}
res = {(w, b): {"wall": [], "race": []} for w in loads for b in ("before", "after")}
for rep in range(reps):
    for w, args in loads.items():
        order = [("before", before), ("after", after)]
        if rep % 2:
            order.reverse()
        for name, binary in order:
            with tempfile.TemporaryDirectory() as d:
                argv = [binary, "--data", os.path.join(d, "data.json"), "--json", "--seed", str(rep + 1)] + args
                t = time.perf_counter()
                out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
                wall = time.perf_counter() - t
                doc = json.loads(out)
                tickets = int(args[3])
                assert doc["tally"]["confirmed"] == tickets and doc["verdict"]["status"] == "ok", doc["verdict"]
                res[(w, name)]["wall"].append(wall * 1000)
                res[(w, name)]["race"].append(doc["race_ms"])
print("load:", open("/proc/loadavg").read().strip(), "reps:", reps)
print("%-12s %-7s %10s %10s %12s" % ("workload", "binary", "wall ms", "race ms", "tickets/s"))
for w, args in loads.items():
    for name in ("before", "after"):
        r = res[(w, name)]
        wall, race = statistics.median(r["wall"]), statistics.median(r["race"])
        print("%-12s %-7s %10.1f %10.1f %12.0f" % (w, name, wall, race, int(args[3]) / race * 1000))
