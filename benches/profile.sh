#!/bin/sh
# Where one W3 purchase's time goes: profiles one run of grab-tickets (P=4, T=20000 unless
# P=/T= are set), durable and --no-fsync, with
#   strace -c -f        syscall counts per purchase (exact) and time per syscall (inflated by ptrace)
#   perf trace -s       per-syscall latency with little overhead (if this perf supports it)
#   perf stat/record    software events only (cpu-clock): this KVM guest has no PMU counters
#   callgrind           user-space instructions of the launcher and one buyer (P=1, T=2000)
# Outputs go to a temp dir whose path is printed; nothing is written in the repository.
set -eu
cd "$(dirname "$0")/.."
P=${P:-4}
T=${T:-20000}
cargo build --release --quiet
bin=$PWD/target/$(rustc -vV | sed -n 's/^host: //p')/release/grab-tickets
out=$(mktemp -d /tmp/grab-tickets-profile-XXXXXX)
echo "outputs in $out"

run() { # run VARIANT TOOL... : a fresh data file, then the W3 command under the tool
    variant=$1; shift
    flags=""
    [ "$variant" = no-fsync ] && flags=--no-fsync
    printf '{"ticket_num": 0}\n' > "$out/data.json"
    "$@" "$bin" --buyers "$P" --tickets "$T" --per-buyer all --delay-ms 0..0 \
        --data "$out/data.json" --json $flags > "$out/last.json"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); t=d["tally"]
print("  %s: confirmed %d of %d, status %s, race %.0f ms = %.1f us/purchase" % (sys.argv[2],
      t["confirmed"], t["initial"], d["verdict"]["status"], d["race_ms"], d["race_ms"]*1e3/t["initial"]))' \
        "$out/last.json" "$variant"
}

for variant in durable no-fsync; do
    echo "== $variant, P=$P T=$T"
    run "$variant" env
    run "$variant" strace -c -f -o "$out/strace-$variant.txt"
    echo "  strace -c -f: $out/strace-$variant.txt (calls / $T = per purchase)"
    head -25 "$out/strace-$variant.txt"
    if perf trace -s -- true >/dev/null 2>&1; then
        run "$variant" perf trace -s -o "$out/perftrace-$variant.txt" --
        echo "  perf trace -s: $out/perftrace-$variant.txt; the first buyer:"
        awk '/grab-tickets \(/{n++} n==2' "$out/perftrace-$variant.txt" | sed -n '1,20p'
    fi
    run "$variant" perf stat -e task-clock,context-switches,cpu-migrations,page-faults \
        -o "$out/perfstat-$variant.txt" --
    cat "$out/perfstat-$variant.txt"
    run "$variant" perf record -q -e cpu-clock -F 2999 -g -o "$out/perf-$variant.data" --
    perf report -i "$out/perf-$variant.data" --no-children --sort comm,dso --stdio 2>/dev/null \
        | grep -v '^#' | grep -v '^$' | head -12
    perf report -i "$out/perf-$variant.data" --no-children --sort sym --stdio -g none 2>/dev/null \
        | grep -v '^#' | grep -v '^$' | head -30 > "$out/perf-top-$variant.txt"
    echo "  top symbols: $out/perf-top-$variant.txt"
done

echo "== callgrind, P=1 T=2000 --no-fsync (user-space instructions per process)"
P=1 T=2000
run no-fsync valgrind -q --tool=callgrind --trace-children=yes \
    --callgrind-out-file="$out/callgrind.%p"
for f in "$out"/callgrind.*; do
    callgrind_annotate "$f" 2>/dev/null | sed -n '1,/^-- /p;/Ir/,+25p' | head -45 > "$f.txt"
    echo "  $f.txt: $(grep -m1 'PROGRAM TOTALS' "$f.txt" || true)"
done
