#!/bin/bash
# Cold build of the test binaries of a checkout: wall and CPU time, and the size of what it makes.
# Usage: bash benches/test_build.sh CHECKOUT_DIR LABEL   (builds into a fresh /tmp/test-build-LABEL)
set -e
src=$1; label=$2; t=/tmp/test-build-$label
rm -rf "$t"
cd "$src"
/usr/bin/time -f "$label: wall %e s, user %U s, sys %S s" env CARGO_TARGET_DIR="$t" cargo test --no-run --locked 2>&1 | grep -E "wall|^error"
CARGO_TARGET_DIR="$t" cargo test --no-run --locked --message-format=json 2>/dev/null | python3 -c "
import json, os, sys
n = size = 0
for line in sys.stdin:
    m = json.loads(line)
    if m.get('reason') == 'compiler-artifact' and m.get('profile', {}).get('test') and m.get('executable'):
        n += 1; size += os.path.getsize(m['executable'])
print('$label: %d test binaries, %.0f MB' % (n, size / 1e6))"
