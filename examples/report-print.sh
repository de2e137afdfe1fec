#!/usr/bin/env bash
# Prints an auditor's report (`vnpop audit report --out report.html`) to PDF as a browser prints
# it on A4 (the page's own @page rules: its margins name the report and number the pages), with
# headless Chromium, and optionally renders one page of it as PNG:
#
#   examples/report-print.sh report.html report.pdf [PAGE OUT.png]
#
# docs/audit-report-page1.png is `examples/report-print.sh report.html report.pdf 1
# docs/audit-report-page1.png`. tests/audit_report_print.rs prints through this script.
#
# Needs Debian's chromium (and poppler-utils for the PNG): `apt-get install -y chromium
# poppler-utils`; without chromium, says so and exits 3 (nothing printed).
set -euo pipefail

if [ $# -ne 2 ] && [ $# -ne 4 ]; then
    echo "usage: $0 REPORT.html OUT.pdf [PAGE OUT.png]" >&2
    exit 2
fi
report=$1
out=$2
if [ ! -f "$report" ]; then
    echo "$0: $report: no such report" >&2
    exit 2
fi

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
    echo "$0: chromium is not installed (apt-get install -y chromium); nothing printed" >&2
    exit 3
fi

# --no-sandbox: root in a container has no user namespace for chromium's sandbox; the page is
# our own file and has no script. A fresh profile keeps the run from touching the user's; the
# other flags keep a headless run from reaching the network. --no-pdf-header-footer: the page's
# own margins say what the browser's header and footer would (title, page numbers), and more.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
timeout 180 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --no-pdf-header-footer \
    --print-to-pdf="$(realpath -m "$out")" "file://$(realpath "$report")" >/dev/null 2>&1
if [ ! -s "$out" ]; then
    echo "$0: chromium wrote no PDF" >&2
    exit 1
fi
echo "$report printed to $out"

if [ $# -eq 4 ]; then
    page=$3
    png=$4
    # pdftoppm writes PREFIX-N.png (N padded to the page count's width): write it aside, then move.
    tmp=$(mktemp -d)
    pdftoppm -png -r 80 -f "$page" -l "$page" "$out" "$tmp/page"
    mv "$tmp"/page-*.png "$png"
    rmdir "$tmp"
    echo "page $page of $out written to $png"
fi
