#!/usr/bin/env bash
# Runs every test stage and ends with ONE line "N passed, N failed" (unit +
# functional on SQLite and on PostgreSQL + browser). Called by `make test`
# once build/asan/unit and build/asan/mintrac exist. MINTRAC_FUZZ_SECONDS > 0
# adds a bounded fuzz run.
# Exit status is non-zero when any stage failed.
set -uo pipefail
cd "$(dirname "$0")/.."

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

passed=0
failed=0
status=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# stage NAME CMD...: runs CMD with its output shown and adds the counts from
# its "NAME: N passed, N failed" line; a stage that crashes before printing
# one counts as one failure.
stage() {
	local name=$1 rc line p f
	shift
	echo "== $name: $*"
	"$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "$out" | tail -n 1)
	if [[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
		p=${BASH_REMATCH[1]}
		f=${BASH_REMATCH[2]}
	else
		echo "$name: no summary line (exit $rc); counted as 1 failure"
		p=0
		f=1
	fi
	if ((rc != 0 && f == 0)); then
		echo "$name: exited $rc with no failed test; counted as 1 failure"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	((rc == 0 && f == 0)) || status=1
}

stage unit ./build/asan/unit
# The unit tests' PostgreSQL cases (names ending in _pg) once more, against
# a throwaway cluster (skipped above: MINTRAC_TEST_PG_URL is unset there).
stage unit python3 tests/functional/pgcluster.py run ./build/asan/unit _pg
export MINTRAC_BIN=$PWD/build/asan/mintrac
stage functional python3 tests/functional/run.py
# The same tests against a throwaway PostgreSQL cluster (tests that are
# about the SQLite file itself are skipped there with their reason).
stage functional-postgresql python3 tests/functional/run.py --backend postgresql
# The page in Debian's headless Chromium (tests/browser/run.js).
stage browser node tests/browser/run.js

fuzz_seconds=${MINTRAC_FUZZ_SECONDS:-0}
if [[ $fuzz_seconds =~ ^[0-9]+$ ]] && ((fuzz_seconds > 0)); then
	echo "== fuzz: make fuzz FUZZ_SECONDS=$fuzz_seconds"
	if ! make --no-print-directory fuzz FUZZ_SECONDS="$fuzz_seconds"; then
		echo "fuzz: FAILED"
		status=1
	fi
fi

echo "$passed passed, $failed failed"
exit "$status"
