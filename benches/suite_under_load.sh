#!/bin/bash
# The whole suite five times in a row with two busy loops on the two cores (issue 17's check
# that it is green on a loaded machine). Usage: bash benches/suite_under_load.sh [LOGDIR]
cd "$(dirname "$0")/.."
logs=${1:-/tmp/suite-under-load}; mkdir -p "$logs"
cargo test --no-run >/dev/null 2>&1
for i in 1 2; do (while :; do :; done) & done
trap 'kill $(jobs -p) 2>/dev/null' EXIT
for i in 1 2 3 4 5; do
  start=$(date +%s)
  GRAB_TICKETS_REQUIRE_POSTGRES=1 GRAB_TICKETS_REQUIRE_CHROMIUM=1 GRAB_TICKETS_REQUIRE_ROOT=1 \
    cargo test > "$logs/run-$i.log" 2>&1
  echo "run $i: exit $? in $(( $(date +%s) - start )) s, load $(cut -d' ' -f1-3 /proc/loadavg):" \
    "$(grep -E '^test result' "$logs/run-$i.log" | grep -v ' 0 passed' | sed 's/; 0 ignored.*//' | tr '\n' ' ')"
done
