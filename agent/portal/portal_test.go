package portal

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/agent"
	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/agent/outputs"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/snapshot"
)

// fakeConn is an executor with one run whose log is fixed.
type fakeConn struct {
	mu          sync.Mutex
	log         []string // written in these pieces
	final       api.Run
	canceled    []string
	unreachable bool
}

func (f *fakeConn) Run(_ context.Context, id string) (api.Run, error) {
	r := f.final
	r.Spec.ID = id
	return r, nil
}

func (f *fakeConn) Follow(_ context.Context, id string, offset int64, w io.Writer) (api.Run, error) {
	var pos int64
	for _, p := range f.log {
		if pos+int64(len(p)) > offset {
			skip := max(0, offset-pos)
			if _, err := w.Write([]byte(p)[skip:]); err != nil {
				return api.Run{}, err
			}
		}
		pos += int64(len(p))
	}
	return f.Run(context.Background(), id)
}

func (f *fakeConn) ReadLog(ctx context.Context, id string, offset int64, w io.Writer) error {
	_, err := f.Follow(ctx, id, offset, w)
	return err
}

func (f *fakeConn) Cancel(_ context.Context, id string) (api.Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.canceled = append(f.canceled, id)
	r := f.final
	r.Spec.ID, r.Status = id, api.StatusCanceled
	return r, nil
}

func (f *fakeConn) Manifest(context.Context, string) (*snapshot.Manifest, error) {
	return &snapshot.Manifest{Entries: []snapshot.Entry{{Path: "train.py", Size: 12}}}, nil
}

func (f *fakeConn) FetchOutputs(context.Context, string, *outputs.Store, int64) (agent.FetchedOutputs, error) {
	return agent.FetchedOutputs{Files: []api.OutputFile{}}, nil
}

func (f *fakeConn) Probe(context.Context) (*agent.Facts, error) {
	return &agent.Facts{OS: "Debian GNU/Linux 12", CPUs: "8", MemKB: "16384000", GPUs: []string{"NVIDIA A100, 81920 MiB"}}, nil
}

func (f *fakeConn) Close() error { return nil }

func (f *fakeConn) Submit(context.Context, api.RunSpec) (api.Run, error) {
	return api.Run{}, errors.New("fake: no submit")
}

func (f *fakeConn) Sync(context.Context, string, *snapshot.Manifest, agent.Progress) (agent.SyncResult, error) {
	return agent.SyncResult{}, errors.New("fake: no sync")
}

func (f *fakeConn) Name() string                    { return "local" }
func (f *fakeConn) Lost() bool                      { return false }
func (f *fakeConn) Reconnect(context.Context) error { return nil }

type fakeConnector struct{ conn *fakeConn }

func (c fakeConnector) Dial(context.Context, compute.Target, string) (Prober, error) {
	return c.conn, nil
}
func (c fakeConnector) Connect(context.Context, compute.Target) (Conn, error) { return c.conn, nil }

// testPortal is a server on httptest with a history of runs.
type testPortal struct {
	srv  *Server
	ts   *httptest.Server
	hist *history.Store
	conn *fakeConn
}

// testRun is a run of a test history and its metrics.
type testRun struct {
	history.Record
	metrics []api.Metric
}

func newTestPortal(t *testing.T, recs ...testRun) *testPortal {
	t.Helper()
	home := t.TempDir()
	hist, err := history.Open(filepath.Join(home, "history.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hist.Close() })
	for _, r := range recs {
		if err := hist.Put(t.Context(), r.Record); err != nil {
			t.Fatal(err)
		}
		var lines bytes.Buffer
		enc := json.NewEncoder(&lines)
		for _, m := range r.metrics {
			enc.Encode(m)
		}
		if err := hist.PutMetrics(r.ID, &lines); err != nil {
			t.Fatal(err)
		}
	}
	conn := &fakeConn{final: api.Run{Status: api.StatusCompleted, ExitCode: new(int)}}
	srv, err := New(Config{Home: home, History: hist, Targets: compute.Open(home), Connector: fakeConnector{conn}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &testPortal{srv: srv, ts: ts, hist: hist, conn: conn}
}

// client returns an HTTP client that has presented the token (it holds
// the cookie) and does not follow redirects.
func (p *testPortal) client(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(p.ts.URL + "/?token=" + p.srv.auth.token)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET with the token: %d, want 303", resp.StatusCode)
	}
	return c
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func record(id, experiment string, st api.Status, metrics []api.Metric) testRun {
	return testRun{history.Record{ID: id, Experiment: experiment, Compute: "local", Status: st, Script: "train.py",
		Args: []string{"--lr", "0.1"}, Snapshot: strings.Repeat("ab", 32),
		Environment: history.Environment{Kind: "user-managed", Python: "python3"},
		CreatedAt:   time.Now().UTC()}, metrics}
}

func series(name string, n int) []api.Metric {
	ms := make([]api.Metric, n)
	for i := range ms {
		step := int64(i)
		ms[i] = api.Metric{Name: name, Value: 1 / float64(i+1), Step: &step}
	}
	return ms
}

func TestRequestsWithoutTokenAre401(t *testing.T) {
	p := newTestPortal(t, record("r1", "e", api.StatusRunning, nil))
	plain := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/", "/runs", "/runs/r1", "/events", "/runs/r1/log/stream", "/static/app.js", "/?token=nope"} {
		if code, _ := get(t, plain, p.ts.URL+path); code != http.StatusUnauthorized {
			t.Errorf("GET %s without the token: %d, want 401", path, code)
		}
	}
	resp, err := plain.PostForm(p.ts.URL+"/runs/r1/cancel", url.Values{"csrf": {p.srv.auth.csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(p.conn.canceled) != 0 {
		t.Fatalf("POST cancel without the token: %d (canceled %v), want 401 and nothing canceled", resp.StatusCode, p.conn.canceled)
	}
}

func TestTokenSetsStrictCookieAndLeavesURL(t *testing.T) {
	p := newTestPortal(t)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(p.ts.URL + "/runs?status=Running&token=" + p.srv.auth.token)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); loc != "/runs?status=Running" {
		t.Errorf("redirect to %q, want the same URL without the token", loc)
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookies %+v, want one HttpOnly SameSite=Strict cookie", cookies)
	}
	req, _ := http.NewRequest("GET", p.ts.URL+"/runs", nil)
	req.Header.Set("Authorization", "Bearer "+p.srv.auth.token)
	if resp, err = c.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("bearer token: %v %v, want 200", resp.StatusCode, err)
	}
	resp.Body.Close()
}

func TestPostNeedsFormTokenAndSameOrigin(t *testing.T) {
	p := newTestPortal(t, record("r1", "e", api.StatusRunning, nil))
	c := p.client(t)
	post := func(form url.Values, origin string) int {
		req, _ := http.NewRequest("POST", p.ts.URL+"/runs/r1/cancel", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(url.Values{}, ""); code != http.StatusForbidden {
		t.Errorf("no form token: %d, want 403", code)
	}
	if code := post(url.Values{"csrf": {p.srv.auth.csrf}}, "http://evil.example"); code != http.StatusForbidden {
		t.Errorf("foreign origin: %d, want 403", code)
	}
	if len(p.conn.canceled) != 0 {
		t.Fatalf("refused requests canceled %v", p.conn.canceled)
	}
	if code := post(url.Values{"csrf": {p.srv.auth.csrf}}, p.ts.URL); code != http.StatusSeeOther {
		t.Fatalf("good POST: %d, want 303", code)
	}
	rec, _ := p.hist.Get(t.Context(), "r1")
	if len(p.conn.canceled) != 1 || rec.Status != api.StatusCanceled {
		t.Fatalf("canceled %v, history says %s; want r1 canceled and recorded", p.conn.canceled, rec.Status)
	}
}

func TestForeignHostHeaderRefused(t *testing.T) {
	p := newTestPortal(t)
	req, _ := http.NewRequest("GET", p.ts.URL+"/?token="+p.srv.auth.token, nil)
	req.Host = "rebound.example:80"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("Host rebound.example: %d, want 421", resp.StatusCode)
	}
}

func TestListenLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:0", "example.com:0", ":0", "[::]:0"} {
		if ln, err := Listen(addr); !errors.Is(err, ErrNotLoopback) {
			if ln != nil {
				ln.Close()
			}
			t.Errorf("Listen(%q): %v, want ErrNotLoopback", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0"} {
		ln, err := Listen(addr)
		if err != nil {
			t.Fatalf("Listen(%q): %v", addr, err)
		}
		if !strings.HasPrefix(ln.Addr().String(), "127.0.0.1:") {
			t.Errorf("Listen(%q) bound %s", addr, ln.Addr())
		}
		ln.Close()
	}
}

func TestRunsTableFilters(t *testing.T) {
	p := newTestPortal(t, record("a1", "alpha", api.StatusCompleted, nil), record("b1", "beta", api.StatusFailed, nil))
	c := p.client(t)
	_, body := get(t, c, p.ts.URL+"/runs/table?experiment=alpha")
	if !strings.Contains(body, `data-run="a1"`) || strings.Contains(body, `data-run="b1"`) {
		t.Fatalf("filtered table:\n%s", body)
	}
	_, body = get(t, c, p.ts.URL+"/runs/table?status=Failed")
	if strings.Contains(body, `data-run="a1"`) || !strings.Contains(body, `data-run="b1"`) {
		t.Fatalf("status-filtered table:\n%s", body)
	}
}

var circleRE = regexp.MustCompile(`<circle `)

func TestRunPageChartHasEveryPoint(t *testing.T) {
	p := newTestPortal(t, record("r1", "e", api.StatusCompleted, append(series("loss", 20), series("acc", 5)...)))
	code, body := get(t, p.client(t), p.ts.URL+"/runs/r1")
	if code != http.StatusOK {
		t.Fatalf("run page: %d", code)
	}
	loss := chartHTML(t, body, "loss")
	if n := len(circleRE.FindAllString(loss, -1)); n != 20 {
		t.Fatalf("loss chart has %d dots, want 20", n)
	}
	if !strings.Contains(loss, `data-points="20"`) {
		t.Fatalf("loss line does not have 20 points")
	}
}

func TestLongSeriesDownsampledOnServer(t *testing.T) {
	p := newTestPortal(t, record("r1", "e", api.StatusCompleted, series("loss", 100000)))
	_, body := get(t, p.client(t), p.ts.URL+"/runs/r1/metrics")
	loss := chartHTML(t, body, "loss")
	if !strings.Contains(loss, fmt.Sprintf(`data-points="%d"`, MaxChartPoints)) || strings.Contains(loss, "<circle") {
		t.Fatalf("100k points not downsampled to %d without dots", MaxChartPoints)
	}
	if !strings.Contains(loss, "100000 points, 1500 drawn") {
		t.Fatalf("chart does not say it was downsampled")
	}
}

// chartHTML returns the figure of the named chart.
func chartHTML(t *testing.T, body, name string) string {
	t.Helper()
	start := strings.Index(body, `data-metric="`+name+`"`)
	if start < 0 {
		t.Fatalf("no chart %q in:\n%s", name, body)
	}
	end := strings.Index(body[start:], "</figure>")
	return body[start : start+end]
}

func TestLogStreamKeepsCharactersWhole(t *testing.T) {
	p := newTestPortal(t, record("r1", "e", api.StatusRunning, nil))
	é := "é"
	p.conn.log = []string{"h" + é[:1], é[1:] + "llo\n", "bye\n"}
	resp, err := p.client(t).Get(p.ts.URL + "/runs/r1/log/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := readEvents(t, resp.Body)
	var text strings.Builder
	for _, e := range events {
		if e.name == "log" {
			var s string
			fmt.Sscanf(e.data, "%q", &s)
			text.WriteString(s)
		}
	}
	if text.String() != "héllo\nbye\n" {
		t.Fatalf("log events carry %q, want %q", text.String(), "héllo\nbye\n")
	}
	last := events[len(events)-1]
	if last.name != "end" || !strings.Contains(last.data, `"Completed"`) || last.id != "11" {
		t.Fatalf("last event %+v, want end with Completed at offset 11", last)
	}
	rec, _ := p.hist.Get(t.Context(), "r1")
	if rec.Status != api.StatusCompleted {
		t.Fatalf("history says %s after the stream saw the end", rec.Status)
	}
}

type event struct{ name, id, data string }

func readEvents(t *testing.T, r io.Reader) []event {
	t.Helper()
	var out []event
	var cur event
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			out = append(out, cur)
			cur = event{}
		case strings.HasPrefix(line, "event: "):
			cur.name = line[7:]
		case strings.HasPrefix(line, "id: "):
			cur.id = line[4:]
		case strings.HasPrefix(line, "data: "):
			cur.data = line[6:]
		}
	}
	return out
}

func TestLogStreamResumesAtLastEventID(t *testing.T) {
	p := newTestPortal(t, record("r1", "e", api.StatusRunning, nil))
	p.conn.log = []string{"one\n", "two\n"}
	req, _ := http.NewRequest("GET", p.ts.URL+"/runs/r1/log/stream", nil)
	req.Header.Set("Last-Event-ID", "4")
	resp, err := p.client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	for _, e := range readEvents(t, resp.Body) {
		if e.name == "log" && e.data != `"two\n"` {
			t.Fatalf("resumed stream sent %s, want only \"two\\n\"", e.data)
		}
	}
}

func TestOutputsAreAttachmentsExceptImages(t *testing.T) {
	rec := record("r1", "e", api.StatusCompleted, nil)
	p := newTestPortal(t)
	html := "<script>alert(1)</script>"
	hash := sha256Hex(html)
	if err := p.srv.outputs.Put(hash, strings.NewReader(html)); err != nil {
		t.Fatal(err)
	}
	rec.Outputs = []api.OutputFile{{Path: "report.html", Size: int64(len(html)), Hash: hash, Mode: 0o644}}
	p.hist.Put(t.Context(), rec.Record)
	resp, err := p.client(t).Get(p.ts.URL + "/runs/r1/outputs/report.html?inline=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != html || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("HTML output served inline: %v", resp.Header)
	}
}

func TestComputeCheckShowsFacts(t *testing.T) {
	p := newTestPortal(t)
	c := p.client(t)
	resp, err := c.PostForm(p.ts.URL+"/compute/local/check", url.Values{"csrf": {p.srv.auth.csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, body := get(t, c, p.ts.URL+"/compute")
	for _, want := range []string{"Debian GNU/Linux 12", "15.6 GiB", "NVIDIA A100"} {
		if !strings.Contains(body, want) {
			t.Errorf("compute page lacks %q after a check", want)
		}
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestFinishedLogServedFromHistoryOffline(t *testing.T) {
	p := newTestPortal(t, record("r1", "e", api.StatusCompleted, nil))
	if err := p.hist.PutLog("r1", strings.NewReader("kept line\n")); err != nil {
		t.Fatal(err)
	}
	p.conn.unreachable = true
	c := p.client(t)
	resp, err := c.Get(p.ts.URL + "/runs/r1/log/stream")
	if err != nil {
		t.Fatal(err)
	}
	events := readEvents(t, resp.Body)
	resp.Body.Close()
	if len(events) != 2 || events[0].data != `"kept line\n"` || events[1].name != "end" {
		t.Fatalf("events %+v, want the kept log and its end", events)
	}
	if code, body := get(t, c, p.ts.URL+"/runs/r1/log.txt"); code != http.StatusOK || body != "kept line\n" {
		t.Fatalf("log.txt: %d %q", code, body)
	}
}
