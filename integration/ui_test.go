package integration

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// uiTree is a project whose scripts the portal tests run.
var uiTree = testutil.Tree{
	// metrics.py N [TAG]: logs N points of loss and accuracy, prints a line each.
	"metrics.py": `import ferry_run, math, sys
n = int(sys.argv[1])
for i in range(n):
    ferry_run.log("loss", 2.0 / (i + 1) + 0.02 * math.sin(i), step=i)
    ferry_run.log("accuracy", 1 - 1.0 / (i + 2), step=i)
    print("step", i, "of", n, flush=True)
`,
	// gate.py FILE: prints, waits until FILE exists, prints again.
	"gate.py": `import os, sys, time
print("first half of the log", flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
print("second half of the log", flush=True)
`,
	// kinds.py: one metric of each of Azure ML's other kinds, through its API.
	"kinds.py": `import struct, zlib
from azureml.core import Run
def png(path):  # a 4x4 red PNG, without PIL
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 4 for _ in range(4))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
run = Run.get_context()
run.log_row("epochs", epoch=1, acc=0.5)
run.log_row("epochs", epoch=2, acc=0.75)
run.log_table("confusion", {"cat": [9, 1], "dog": [2, 8]})
png("red.png")
run.log_image("sample", path="red.png", description="a red square")
run.tag("team", "vision")
run.log("optimizer", "adam")
`,
	// sleep.py: says so and sleeps until canceled.
	"sleep.py": `import time
print("sleeping until canceled", flush=True)
time.sleep(600)
`,
}

func TestUIRunsTableUpdatesLive(t *testing.T) {
	c := newCLI(t)
	src := sourceDir(t, uiTree)
	first := runIDOf(t, c.mustRun(src, "run", "--experiment", "table", "metrics.py", "3").Stderr)
	p := c.startUI(t)
	ctx := browser(t, p)
	waitJS(t, ctx, "the first run in the table", fmt.Sprintf(`!!document.querySelector('tr[data-run=%q]')`, first), 20*time.Second)
	markPage(t, ctx)

	gate := filepath.Join(t.TempDir(), "gate")
	second := runIDOf(t, c.mustRun(src, "run", "--detach", "--experiment", "table", "gate.py", gate).Stderr)
	waitJS(t, ctx, "the run started after the page opened", fmt.Sprintf(`!!document.querySelector('tr[data-run=%q]')`, second), 20*time.Second)
	requireNoReload(t, ctx)
	screenshot(t, ctx, "new-run")

	os.WriteFile(gate, nil, 0o644)
	waitJS(t, ctx, "the detached run shown Completed", fmt.Sprintf(`document.querySelector('tr[data-run=%q]').dataset.status === "Completed"`, second), 30*time.Second)
	requireNoReload(t, ctx)
	if rows := evalJS[int](t, ctx, `document.querySelectorAll('tr[data-run]').length`); rows != 2 {
		t.Fatalf("table has %d runs, want 2", rows)
	}
	screenshot(t, ctx, "completed")
}

func TestUILogGrowsLive(t *testing.T) {
	c := newCLI(t)
	src := sourceDir(t, uiTree)
	gate := filepath.Join(t.TempDir(), "gate")
	id := runIDOf(t, c.mustRun(src, "run", "--detach", "gate.py", gate).Stderr)
	p := c.startUI(t)
	ctx := browser(t, p)
	navigate(t, ctx, p, "/runs/"+id)
	waitJS(t, ctx, "the first half of the log", `document.getElementById("log").textContent.includes("first half of the log")`, 30*time.Second)
	markPage(t, ctx)
	text := evalJS[string](t, ctx, `document.getElementById("log").textContent`)
	if strings.Contains(text, "second half") {
		t.Fatalf("the second half is there before the gate opened: %q", text)
	}
	screenshot(t, ctx, "first-half")

	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the second half of the log", `document.getElementById("log").textContent.includes("second half of the log")`, 30*time.Second)
	waitJS(t, ctx, "the status Completed", `document.getElementById("run-status").dataset.status === "Completed"`, 30*time.Second)
	requireNoReload(t, ctx)
	text = evalJS[string](t, ctx, `document.getElementById("log").textContent`)
	if strings.Count(text, "first half of the log") != 1 {
		t.Fatalf("log shows the first half %d times: %q", strings.Count(text, "first half of the log"), text)
	}
	screenshot(t, ctx, "ended")
}

func TestUIMetricChart(t *testing.T) {
	c := newCLI(t)
	src := sourceDir(t, uiTree)
	id := runIDOf(t, c.mustRun(src, "run", "metrics.py", "20").Stderr)
	p := c.startUI(t)
	ctx := browser(t, p)
	navigate(t, ctx, p, "/runs/"+id)
	waitJS(t, ctx, "the loss chart", `!!document.querySelector('figure.chart[data-metric="loss"] svg')`, 20*time.Second)
	dots := evalJS[int](t, ctx, `document.querySelectorAll('figure.chart[data-metric="loss"] circle').length`)
	drawn := evalJS[int](t, ctx, `document.querySelector('figure.chart[data-metric="loss"] polyline').points.numberOfItems`)
	if dots != 20 || drawn != 20 {
		t.Fatalf("loss chart has %d dots and a line of %d points, want 20 and 20", dots, drawn)
	}
	if charts := evalJS[int](t, ctx, `document.querySelectorAll('figure.chart').length`); charts != 2 {
		t.Fatalf("%d charts, want 2 (loss, accuracy)", charts)
	}
	waitJS(t, ctx, "the log", `document.getElementById("log").textContent.includes("step 19 of 20")`, 20*time.Second)
	screenshot(t, ctx, "run")
}

func TestUIMetricKinds(t *testing.T) {
	c := newCLI(t)
	src := sourceDir(t, uiTree)
	id := runIDOf(t, c.mustRun(src, "run", "kinds.py").Stderr)
	p := c.startUI(t)
	ctx := browser(t, p)
	navigate(t, ctx, p, "/runs/"+id)
	waitJS(t, ctx, "the image metric loaded", `(() => { const i = document.querySelector('figure[data-metric="sample"] img'); return !!i && i.complete && i.naturalWidth === 4 })()`, 20*time.Second)
	rows := evalJS[[]string](t, ctx, `[...document.querySelectorAll('.mtable[data-metric="epochs"] tbody tr')].map(r => r.innerText.replace(/\s+/g, " ").trim())`)
	if strings.Join(rows, "|") != "0.5 1|0.75 2" {
		t.Errorf("log_row table rows %q, want acc/epoch 0.5 1 and 0.75 2", rows)
	}
	cols := evalJS[[]string](t, ctx, `[...document.querySelectorAll('.mtable[data-metric="confusion"] th')].map(th => th.textContent)`)
	if strings.Join(cols, ",") != "cat,dog" {
		t.Errorf("log_table columns %q, want cat,dog", cols)
	}
	tags := evalJS[string](t, ctx, `document.querySelector('table.tags').innerText`)
	if !strings.Contains(tags, "vision") || !strings.Contains(tags, "adam") {
		t.Errorf("tags table %q lacks the tag and the text metric", tags)
	}
	screenshot(t, ctx, "kinds")
}

func TestUICompareOverlaysRuns(t *testing.T) {
	c := newCLI(t)
	src := sourceDir(t, uiTree)
	a := runIDOf(t, c.mustRun(src, "run", "--experiment", "cmp", "metrics.py", "20").Stderr)
	b := runIDOf(t, c.mustRun(src, "run", "--experiment", "cmp", "metrics.py", "35").Stderr)
	p := c.startUI(t)
	ctx := browser(t, p)
	navigate(t, ctx, p, "/runs")
	for _, id := range []string{a, b} {
		click(t, ctx, fmt.Sprintf(`input[value=%q]`, id))
	}
	screenshot(t, ctx, "picked")
	click(t, ctx, `#compare-btn`)
	waitJS(t, ctx, "the compare page", `location.pathname === "/compare" && !!document.querySelector('figure.chart[data-metric="loss"]')`, 20*time.Second)
	lines := evalJS[[]string](t, ctx, `[...document.querySelectorAll('figure.chart[data-metric="loss"] polyline')].map(l => l.dataset.series + ":" + l.points.numberOfItems)`)
	want := []string{a + ":20", b + ":35"}
	slices.Sort(lines)
	slices.Sort(want) // two runs started in one second order by their random suffix
	if strings.Join(lines, ",") != strings.Join(want, ",") {
		t.Fatalf("loss chart lines %v, want %v", lines, want)
	}
	differs := evalJS[[]string](t, ctx, `[...document.querySelectorAll('table.compare tr.differs th')].map(th => th.textContent)`)
	if !contains(differs, "arguments") || contains(differs, "script") {
		t.Fatalf("rows marked as differing: %v; want arguments, not script", differs)
	}
	screenshot(t, ctx, "compare")
}

func TestUIRefusesWithoutToken(t *testing.T) {
	c := newCLI(t)
	src := sourceDir(t, uiTree)
	id := runIDOf(t, c.mustRun(src, "run", "metrics.py", "2").Stderr)
	p := c.startUI(t)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/runs"}, {"GET", "/events"}, {"GET", "/compute"},
		{"GET", "/runs/" + id}, {"GET", "/runs/" + id + "/log/stream"}, {"POST", "/runs/" + id + "/cancel"},
		{"GET", "/?token=wrong"}, {"GET", "/static/app.js"},
	} {
		if got := httpStatus(t, tc.method, p.Base+tc.path); got != http.StatusUnauthorized {
			t.Errorf("%s %s without the token: %d, want 401", tc.method, tc.path, got)
		}
	}
	if got := httpStatus(t, "GET", p.URL); got != http.StatusSeeOther {
		t.Errorf("GET with the token: %d, want 303 (set the cookie, drop the token from the URL)", got)
	}

	// A browser without the token sees the refusal.
	ctx := browser(t, portal{URL: p.Base + "/runs", Base: p.Base})
	if text := evalJS[string](t, ctx, `document.body.innerText`); !strings.Contains(text, "401") {
		t.Fatalf("page without the token says %q, want a 401", text)
	}
	screenshot(t, ctx, "refused")
}

func TestUICancelFromPage(t *testing.T) {
	c := newCLI(t)
	src := sourceDir(t, uiTree)
	id := runIDOf(t, c.mustRun(src, "run", "--detach", "sleep.py").Stderr)
	p := c.startUI(t)
	ctx := browser(t, p)
	navigate(t, ctx, p, "/runs/"+id)
	waitJS(t, ctx, "the run's log", `document.getElementById("log").textContent.includes("sleeping until canceled")`, 30*time.Second)
	screenshot(t, ctx, "running")
	click(t, ctx, `#cancel`)
	waitJS(t, ctx, "the status Canceled", `document.getElementById("run-status") && document.getElementById("run-status").dataset.status === "Canceled"`, 30*time.Second)
	screenshot(t, ctx, "canceled")
	if rec := c.show(id); rec.Status != "Canceled" {
		t.Fatalf("ferry show says %s after cancel from the page, want Canceled", rec.Status)
	}
}

// TestUIRerunFromPage: the rerun button starts a new run of the old
// snapshot (the source changed since), linked to it, and opens its page.
func TestUIRerunFromPage(t *testing.T) {
	testutil.RequireCommand(t, "python3")
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"v.py": "print('version one', flush=True)\n"})
	id := runIDOf(t, c.mustRun(src, "run", "v.py").Stderr)
	writeFile(t, filepath.Join(src, "v.py"), "print('version two')\n")
	p := c.startUI(t)
	ctx := browser(t, p)
	navigate(t, ctx, p, "/runs/"+id)
	click(t, ctx, `#rerun`)
	waitJS(t, ctx, "the new run's page", `location.pathname !== "/runs/`+id+`" && document.getElementById("run-status") !== null`, 30*time.Second)
	waitJS(t, ctx, "the new run's log", `document.getElementById("log").textContent.includes("version one")`, 60*time.Second)
	waitJS(t, ctx, "the status Completed", `document.getElementById("run-status").dataset.status === "Completed"`, 60*time.Second)
	screenshot(t, ctx, "rerun")
	newID := strings.TrimPrefix(evalJS[string](t, ctx, `location.pathname`), "/runs/")
	rec := c.show(newID)
	if rec.Status != "Completed" || !strings.HasPrefix(rerunOf(t, rec), id+" ") {
		t.Fatalf("rerun %s: %s, rerun_of+snapshot %q; want Completed, a rerun of %s", newID, rec.Status, rerunOf(t, rec), id)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
