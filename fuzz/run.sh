#!/usr/bin/env bash
# Runs every built fuzz target build/fuzz/fuzz_NAME for $1 seconds (default
# 30) on a scratch copy of its seed corpus fuzz/seeds/NAME/. One line per
# target; exits 1 if any target crashed, leaked or timed out (the input that
# did it is kept in build/fuzz/artifacts/).
set -u
secs=${1:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
bindir=$root/build/fuzz
artifacts=$bindir/artifacts
mkdir -p "$artifacts"
shopt -s nullglob
targets=("$bindir"/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz: no targets in $bindir (run make fuzz)" >&2
	exit 1
fi
failed=0
for bin in "${targets[@]}"; do
	[ -x "$bin" ] && [ -f "$bin" ] || continue
	tname=$(basename "$bin")
	name=${tname#fuzz_}
	corpus=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-$name.XXXXXX")
	seeds=$root/fuzz/seeds/$name
	nseeds=0
	if [ -d "$seeds" ]; then
		cp -R "$seeds"/. "$corpus"/
		nseeds=$(find "$seeds" -type f | wc -l)
	fi
	log=$bindir/$tname.log
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$artifacts/$tname-" -print_final_stats=1 \
		"$corpus" >"$log" 2>&1
	rc=$?
	runs=$(grep -Eo '^Done [0-9]+ runs' "$log" | tail -1 | grep -Eo '[0-9]+')
	rm -rf "$corpus"
	if [ $rc -eq 0 ]; then
		echo "$tname: ok, ${runs:-?} runs in ${secs}s from $nseeds seeds"
	else
		failed=1
		echo "$tname: FAILED (exit $rc), see $log and $artifacts/"
	fi
done
exit $failed
