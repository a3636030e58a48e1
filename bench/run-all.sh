#!/bin/sh
# Runs every vigil benchmark against one build directory (`make bench`): scan
# throughput, detection speed next to rspamd 3.4, the hunt next to grep, rg and
# yara, the milter behind Postfix next to rspamd's and, when the labelled
# archive is present, detection quality.
# Builds the benchmark mbox when missing, runs each benchmark, prints a summary.
# Exit status: 0 when every benchmark met its floor, 1 when one did not, 2 when
# one could not run.
#
# usage: sh bench/run-all.sh [BUILD_DIR]
# environment: BENCH_MBOX_SIZE (default 1G), BENCH_RUNS (runs of each side,
#              default 3), BENCH_CORPUS (default ../shared/corpus)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${1:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
size=${BENCH_MBOX_SIZE:-1G}
runs=${BENCH_RUNS:-3}
corpus=${BENCH_CORPUS:-$root/../shared/corpus}

for tool in python3 ninja wc; do
	command -v "$tool" >/dev/null 2>&1 ||
		{ echo "run-all: $tool is missing (make deps installs it)" >&2; exit 2; }
done
if [ ! -f "$build/build.ninja" ]; then
	echo "run-all: $build is not a meson build directory (make, or meson setup $build)" >&2
	exit 2
fi
# Always through ninja: a stale binary would measure old code.
ninja -C "$build" >/dev/null || { echo "run-all: build failed" >&2; exit 2; }

mkdir -p "$here/out"
mbox=$(python3 "$here/make-mbox.py" --corpus "$corpus" --size "$size" --if-missing) ||
	{ echo "run-all: could not build the benchmark mbox" >&2; exit 2; }

status=0
results=""
run() {
	name=$1; shift
	echo "== $name"
	rc=0
	"$@" || rc=$?
	case $rc in
	0) results="$results  $name PASS\n" ;;
	1) results="$results  $name FAIL\n"; [ $status -ge 1 ] || status=1 ;;
	*) results="$results  $name ERROR (exit $rc)\n"; status=2 ;;
	esac
	echo
}

run scan-throughput python3 "$here/scan-throughput.py" --build "$build" --mbox "$mbox" --runs "$runs"

# Detection speed next to rspamd 3.4 on the real corpora: a private rspamd on
# loopback, network checks off, fed with rspamc. Installs Debian's rspamd when
# missing (root only); exits 2 when it cannot, reported as ERROR below.
run vs-rspamd python3 "$here/vs-rspamd.py" --build "$build" --corpus "$corpus" --runs "$runs"

# The hunt: vigil hunt with 100,000 indicators (bench/make-indicators.py)
# next to grep -F -f, rg -F -f and yara with the same strings over the raw
# bytes, plus the import time of the feed. Installs ripgrep and yara when
# missing (root only); exits 2 when it cannot, reported as ERROR below.
run hunt-vs-grep python3 "$here/hunt-vs-grep.py" --build "$build" --mbox "$mbox" --runs "$runs" \
	--corpus "$corpus"

# The milter in front of a real Postfix: messages/s and the latency it adds,
# vigil milter next to rspamd 3.4's proxy worker in milter mode (offline),
# 10,000 messages each through one private Postfix on loopback. Needs root
# (Postfix's master) and the postfix package (make deps); exits 2 when it
# cannot run, reported as ERROR below.
run milter-vs-rspamd python3 "$here/milter-vs-rspamd.py" --build "$build" --corpus "$corpus"

# Detection quality on the labelled synthetic archive (bench/eval), when the
# corpus has it: precision and recall beside speed, so a faster build that
# detects less shows up in the same summary.
if [ -f "$corpus/synthetic/labels.jsonl" ]; then
	vigil=$build/vigil
	[ -x "$vigil" ] || vigil=$build/src/cli/vigil
	run detection-eval python3 "$here/eval" --vigil "$vigil" --json "$here/out/eval.json" \
		"$corpus/synthetic"
else
	echo "== detection-eval: $corpus/synthetic/labels.jsonl absent, skipped"
	echo
fi

echo "== summary ($(date -u +%Y-%m-%dT%H:%M:%SZ), results in $here/out/)"
printf '%b' "$results"
exit $status
