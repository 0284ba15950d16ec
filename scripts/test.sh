#!/usr/bin/env bash
# Runs the whole suite with the race detector and prints, per package, Go's
# usual "ok"/"FAIL" line, the output of every failing test, and a closing
# "N passed, N failed, N skipped" line. Exits non-zero when a test fails,
# or when one is skipped while FERRY_TEST_DISALLOW_SKIP is set (as in CI).
set -uo pipefail
cd "$(dirname "$0")/.."
json=$(mktemp)
trap 'rm -f "$json"' EXIT
go test -race -count=1 -timeout 30m -json ./... >"$json"
status=$?
python3 - "$json" "$status" <<'PY'
import json, os, sys
path, status = sys.argv[1], int(sys.argv[2])
out, result = {}, {}
for line in open(path, encoding="utf-8", errors="replace"):
    try:
        ev = json.loads(line)
    except ValueError:
        print(line, end="")
        continue
    key = (ev.get("Package"), ev.get("Test"))
    act = ev.get("Action")
    if act == "output":
        out.setdefault(key, []).append(ev.get("Output", ""))
    elif act in ("pass", "fail", "skip"):
        result[key] = act
        if key[1] is None:
            pkg_out = "".join(out.get(key, []))
            last = [l for l in pkg_out.splitlines() if l.startswith(("ok", "FAIL", "?"))]
            print(last[-1] if last else f"{act} {key[0]}")
counts = {"pass": 0, "fail": 0, "skip": 0}
for (pkg, test), act in sorted(result.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or "")):
    if test is None:
        continue
    counts[act] += 1
    if act == "fail" or act == "skip":
        print(f"--- {act.upper()}: {pkg} {test}")
        if act == "fail":
            sys.stdout.write("".join(out.get((pkg, test), []))[-20000:])
print(f"tests: {counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped")
bad = status != 0 or counts["fail"] > 0
if counts["skip"] and os.environ.get("FERRY_TEST_DISALLOW_SKIP"):
    print("a test was skipped: every test must run here (FERRY_TEST_DISALLOW_SKIP is set)")
    bad = True
sys.exit(1 if bad else 0)
PY
