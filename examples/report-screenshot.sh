#!/usr/bin/env bash
# Screenshots an auditor's report (`vnpop audit report --out report.html`) headless at 1280 pixels
# wide, as the README's docs/audit-report.png was made:
#
#   examples/report-screenshot.sh report.html docs/audit-report.png [HEIGHT]
#
# Needs Debian's chromium (`apt-get install -y chromium`); without it, says so and exits 0, so it
# can run anywhere. HEIGHT (default 2000) is the height of the window, and so of the image.
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 REPORT.html OUT.png [HEIGHT]" >&2
    exit 2
fi
report=$1
out=$2
height=${3:-2000}
if [ ! -f "$report" ]; then
    echo "$0: $report: no such report" >&2
    exit 2
fi

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
    echo "$0: chromium is not installed (apt-get install -y chromium); no screenshot taken"
    exit 0
fi

# --no-sandbox: root in a container has no user namespace for chromium's sandbox; the page is
# our own file and has no script. A fresh profile keeps the run from touching the user's.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$profile" --force-device-scale-factor=1 \
    --window-size="1280,$height" --screenshot="$(realpath -m "$out")" \
    "file://$(realpath "$report")" 2>/dev/null
echo "screenshot of $report written to $out (1280x$height)"
