#!/bin/sh
# Runs every test of one build directory (unit, end-to-end, corpus, fuzz
# replay) and ends with one line "N passed, N failed". Exit status is
# meson's: non-zero when any test failed.
set -u
BUILD=${1:-build}
shift 2>/dev/null || true

# Sanitizer builds: fail on the first report, with a stack; LeakSanitizer
# ignores the one-time allocations of GLib's type system (tests/lsan.supp).
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp:print_suppressions=0}"

meson test -C "$BUILD" --print-errorlogs --num-processes 2 "$@"
rc=$?

python3 - "$BUILD/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
try:
    for line in open(sys.argv[1]):
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
except OSError:
    pass
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
exit $rc
