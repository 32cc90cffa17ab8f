#!/usr/bin/env bash
# make check: the layering of src/. Arguments: the layers, lowest first
# (the Makefile's LAYERS). Two rules:
#   1. every header compiles on its own (it includes what it uses);
#   2. a file includes project headers only as "layer/name.h", from its own
#      layer or a lower one; receiver/ and webapp/ are two processes side by
#      side and never include each other.
# Prints each breach and exits 1 if there is any.
set -u
cd "$(dirname "$0")/.."
cc=${CC:-cc}
layers=("$@")
declare -A rank
for i in "${!layers[@]}"; do rank[${layers[$i]}]=$i; done
# Peers: same rank in the process sense, but separate.
rank[webapp]=${rank[receiver]}
bad=0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nh=0
for h in src/*/*.h; do
	nh=$((nh + 1))
	printf '#include "%s"\n#include "%s"\n' "${h#src/}" "${h#src/}" > "$tmp/one.c"
	if ! "$cc" -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Isrc ${EXTRA_INC:-} -fsyntax-only "$tmp/one.c" 2> "$tmp/err"; then
		echo "check: $h does not compile on its own (or twice):"
		sed 's/^/  /' "$tmp/err" | head -n 5
		bad=1
	fi
done

nf=0
for f in src/*/*.[ch]; do
	nf=$((nf + 1))
	layer=${f#src/}
	layer=${layer%%/*}
	if [[ -z ${rank[$layer]+x} ]]; then
		echo "check: $f is in src/$layer/, which is no layer (Makefile LAYERS)"
		bad=1
		continue
	fi
	while IFS=: read -r line inc; do
		inc=${inc#*\"}
		inc=${inc%%\"*}
		if [[ $inc != */* ]]; then
			echo "check: $f:$line includes \"$inc\": name its layer (\"$layer/$inc\")"
			bad=1
			continue
		fi
		to=${inc%%/*}
		[[ $to == build ]] && continue
		if [[ -z ${rank[$to]+x} ]]; then
			echo "check: $f:$line includes \"$inc\" from no layer"
			bad=1
		elif [[ $to != "$layer" ]] && ((rank[$to] >= rank[$layer])); then
			echo "check: $f:$line includes \"$inc\": $layer/ may not include from $to/"
			bad=1
		fi
	done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | sed 's/:.*include[[:space:]]*/:/')
done
if ((bad)); then
	echo "check: FAILED"
	exit 1
fi
echo "check: $nh headers compile alone; $nf files include only from their own layer or below"
