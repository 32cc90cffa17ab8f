#!/usr/bin/env bash
# One command from a fresh checkout to a running mintrac: installs the build
# dependencies, builds, creates ./mintrac-data with a demo user and device
# holding a generated day of demo fixes, prints the device's settings for
# every phone app and runs in the foreground (Ctrl-C stops it). Safe to run
# again: it reuses what exists.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
make

export MINTRAC_DATA=${MINTRAC_DATA:-$PWD/mintrac-data}
bin=$PWD/build/mintrac
user=demo
device=demo-phone
password=demo-password

"$bin" init
# Offline country and city names for the places of the history (installed
# by setup.sh; a few seconds, once).
if ! "$bin" geo status >/dev/null 2>&1; then
	"$bin" geo load || echo "geo load failed: places will have no city or country names"
fi
if ! "$bin" user list | grep -qx "$user"; then
	printf '%s\n' "$password" | "$bin" user add "$user" --password-stdin
fi
# The token is shown once at creation; keep the demo's so a second run
# prints the same settings instead of invalidating a configured phone.
settings=$MINTRAC_DATA/demo-device.txt
if ! "$bin" device list "$user" | cut -f2 | grep -qx "$device"; then
	"$bin" device add "$user" "$device" > "$settings"
	chmod 600 "$settings"
fi
if [ -f "$settings" ]; then
	cat "$settings"
else
	"$bin" device token "$user" "$device" | tee "$settings"
fi
echo
# A day of generated fixes (a walk and a drive in Berlin, marked as demo
# data) so the map shows a track before a phone is set up. Adding the
# same day again adds nothing. It is optional: mintrac starts without it.
if "$bin" demo "$user" "$device"; then
	printf 'Remove the demo data with:  %q -d %q demo --remove %q %q\n' \
		"$bin" "$MINTRAC_DATA" "$user" "$device"
fi
echo
echo "Web app: http://${MINTRAC_WEBAPP_LISTEN:-127.0.0.1:8082}/  (user '$user', password '$password')"
echo "Try:  curl -u $user:$password 'http://${MINTRAC_WEBAPP_LISTEN:-127.0.0.1:8082}/api/points?device=$device'"
echo
exec "$bin" run
