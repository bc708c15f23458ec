#!/usr/bin/env bash
# html-browser-test.sh: open the HTML report of an estate whose aliases,
# tags, descriptions and errors carry script-injection payloads in headless
# Chromium (Debian's chromium package, installed when missing) and check
# that no injected script runs, that no request leaves the page, that the
# table filters and sorts, and save a screenshot.
#
# The page is driven through its URL fragment (#q=...&sort=...), which the
# report's own script reads; --dump-dom gives the DOM after scripts ran.
# Every request Chromium makes goes to a recording proxy on loopback; a
# control page that does load the payload URL proves the recorder works.
#
# Usage: scripts/html-browser-test.sh [OUTDIR]   (default /tmp/kmsrotor-html-test)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-/tmp/kmsrotor-html-test}"
mkdir -p "$out"

if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq chromium
fi

# The recorder: a loopback HTTP listener that logs every request line and
# answers 204. It is both Chromium's proxy and the payloads' target.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log="$out/requests.log"
: > "$log"
python3 - "$port" "$log" <<'PY' &
import http.server, sys
port, log = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def any(self):
        with open(log, "a") as f:
            f.write(self.command + " " + self.path + "\n")
        self.send_response(204); self.end_headers()
    do_GET = do_POST = do_CONNECT = do_HEAD = any
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
recorder=$!
trap 'kill "$recorder" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null && break
  sleep 0.1
done

leak="http://127.0.0.1:$port/leak"
go run ./bench/gen-hostile-html -out "$out/report.html" -leak "$leak" -n 24

browse() { # browse URL [extra chromium flags...]: prints the DOM after scripts ran
  local url=$1; shift
  timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --disable-default-apps \
    --disable-domain-reliability --disable-client-side-phishing-detection --metrics-recording-only \
    --proxy-server="http://127.0.0.1:$port" --proxy-bypass-list='<-loopback>' \
    --user-data-dir="$out/profile" --virtual-time-budget=3000 "$@" "$url" 2>>"$out/chromium.err"
}

# Control: a page without the report's CSP that loads the payload URL must
# be recorded, or the recorder proves nothing.
printf '<!DOCTYPE html><img src="%s/control">\n' "$leak" > "$out/control.html"
browse "file://$out/control.html" --dump-dom > /dev/null
grep -q '/leak/control' "$log" || { echo "FAIL: the recorder saw no request from the control page; the test cannot detect a leak"; exit 1; }
: > "$log"

fail=0
check() { # check NAME FRAGMENT PYTHON-ASSERTIONS
  local name=$1 frag=$2 py=$3
  browse "file://$out/report.html#$frag" --dump-dom > "$out/$name.dom.html"
  if ! python3 - "$out/$name.dom.html" "$py" <<'PY'
import sys, re, html.parser
dom = open(sys.argv[1], encoding="utf-8").read()
class P(html.parser.HTMLParser):
    def __init__(s):
        super().__init__(); s.rows=[]; s.cell=None; s.in_findings=False; s.title=""; s.in_title=False; s.html_attrs={}; s.depth=0; s.elements=[]
    def handle_starttag(s, tag, attrs):
        a = dict(attrs); s.elements.append((tag, a))
        if tag == "html": s.html_attrs = a
        if tag == "title" and not s.title: s.in_title = True
        if tag == "table" and a.get("id") == "findings": s.in_findings = True
        if s.in_findings and tag == "tr" and "data-status" in a:
            s.rows.append({"attrs": a, "cells": []})
        if s.in_findings and tag == "td" and s.rows:
            s.rows[-1]["cells"].append(a.get("data-v", ""))
    def handle_endtag(s, tag):
        if tag == "title": s.in_title = False
        if tag == "table": s.in_findings = False
    def handle_data(s, d):
        if s.in_title: s.title += d
p = P(); p.feed(dom)
visible = [r for r in p.rows if "hidden" not in r["attrs"]]
ok = True
def need(cond, msg):
    global ok
    if not cond:
        print("  FAIL:", msg); ok = False
need(p.title == "KMS key rotation report", "document.title is %r: an injected script ran" % p.title)
need("data-pwned" not in p.html_attrs, "an injected handler set data-pwned")
need(p.html_attrs.get("data-ready") == "1", "the report's own script did not run (CSP hash mismatch?)")
need(not any(t in ("script",) and a.get("src") for t, a in p.elements), "a script element with src exists")
need(not any(t in ("img", "iframe", "svg", "link") and (a.get("src") or a.get("href") or a.get("onload") or a.get("onerror")) for t, a in p.elements if t != "svg" or a.get("onload")), "an injected element exists")
need(sum(1 for t, a in p.elements if t == "script") == 1, "more than the one inline script")
exec(sys.argv[2])
sys.exit(0 if ok else 1)
PY
  then echo "FAIL: $name"; fail=1; else echo "ok: $name"; fi
}

# 24 keys; every third has an alias/sortme- alias: 8 rows. Column 5 is the
# period (90+10n days), sorted descending.
check plain "" 'need(len(visible) == 24, "got %d visible rows, want 24" % len(visible))'
check filter "q=sortme" 'need(len(visible) == 8, "filter sortme: got %d visible rows, want 8" % len(visible))'
check filter-status "status=FAIL" 'need(len(visible) == 6 and all(r["attrs"]["data-status"] == "FAIL" for r in visible), "status filter: got %d rows" % len(visible))'
check sort "q=sortme&sort=5&dir=desc" '
periods = [int(r["cells"][5] or 0) for r in visible]
need(len(periods) == 8 and periods == sorted(periods, reverse=True) and periods[0] > periods[-1], "sort by period desc: got %s" % periods)'
check sort-asc "sort=6" '
dates = [r["cells"][6] for r in p.rows if r["cells"][6]]
need(len(dates) > 1 and dates == sorted(dates), "sort by next rotation asc: got %s" % dates)'

browse "file://$out/report.html#q=sortme&sort=5&dir=desc" --screenshot="$out/report.png" --window-size=1400,1600 > /dev/null
[ -s "$out/report.png" ] || { echo "FAIL: no screenshot"; fail=1; }

# Chromium's own background calls (time, accounts, component updates) go
# to Google's hosts whatever page is open; anything else came from a page.
page_requests=$(grep -Ev '^(CONNECT|GET) (https?://)?([a-z0-9-]+\.)*(google\.com|googleapis\.com|gstatic\.com|gvt1\.com)(:443)?[/ ]?' "$log" || true)
if [ -n "$page_requests" ]; then
  echo "FAIL: requests left the page:"; echo "$page_requests"; fail=1
else
  echo "ok: no request left the page"
fi
[ "$fail" -eq 0 ] && echo "html browser test passed; screenshot $out/report.png" || exit 1
