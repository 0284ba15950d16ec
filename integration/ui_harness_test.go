package integration

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ferry-ml/ferry/internal/testutil"
)

// portal is a running `ferry ui` of a cli's FERRY_HOME.
type portal struct {
	URL  string // as printed: with the token
	Base string // scheme and host, no token
}

// startUI starts `ferry ui --addr 127.0.0.1:0` and reads the URL from the
// first line of its stdout. It is stopped at cleanup.
func (c *cli) startUI(t *testing.T) portal {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := c.command(ctx, "", "ui", "--addr", "127.0.0.1:0")
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ferry ui: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		t.Logf("ferry ui stderr:\n%s", stderr.String())
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("read ferry ui's first line: %v (stderr: %s)", err, stderr.String())
	}
	u, err := url.Parse(strings.TrimSpace(line))
	if err != nil || u.Query().Get("token") == "" || u.Hostname() != "127.0.0.1" {
		t.Fatalf("first line %q is not a loopback URL with a token", line)
	}
	return portal{URL: u.String(), Base: u.Scheme + "://" + u.Host}
}

// browser starts headless Chromium for one test and returns its context;
// the first navigation to p.URL sets the access cookie.
func browser(t *testing.T, p portal) context.Context {
	t.Helper()
	exe := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.WindowSize(1360, 1000),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	// No deadline on this context: the browser lives as long as the context
	// of its first action. Waits have their own timeouts.
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancel(); acancel() })
	if err := chromedp.Do(ctx, chromedp.Navigate(p.URL)); err != nil {
		t.Fatalf("open %s in chromium: %v", p.URL, err)
	}
	return ctx
}

// chromiumPath finds Debian's chromium (make test-deps installs it).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testutil.SkipOrFail(t, "chromium not found on PATH (make test-deps installs Debian's chromium)")
	return ""
}

// screenshot saves a full-page PNG of what the browser shows as
// <artifacts>/ui/<test name>-<label>.png (see artifactDir).
func screenshot(t *testing.T, ctx context.Context, label string) {
	t.Helper()
	var png []byte
	var err error
	for range 20 { // a page still laying out has no size yet
		if png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("screenshot %s: %v", label, err)
	}
	dir := artifactDir(t)
	name := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+"-"+label+".png")
	if err := os.WriteFile(name, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", name)
}

// artifactDir is $FERRY_TEST_ARTIFACTS/ui, else .test-artifacts/ui at the
// repository's root: screenshots stay there after the test for people to
// look at (CI keeps the folder).
func artifactDir(t *testing.T) string {
	t.Helper()
	root := os.Getenv("FERRY_TEST_ARTIFACTS")
	if root == "" {
		abs, err := filepath.Abs(filepath.Join("..", ".test-artifacts"))
		if err != nil {
			t.Fatal(err)
		}
		root = abs
	}
	dir := filepath.Join(root, "ui")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// waitJS waits until the JavaScript expression is true in the page. A
// poll cut short by a navigation (a form posted, a link followed) is
// started again on the new page.
func waitJS(t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		var ok bool
		ok, err = chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(time.Until(deadline)),
			chromedp.WithPollingInterval(50*time.Millisecond)))
		if err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 3000) : ""`))
	screenshot(t, ctx, "timeout")
	t.Fatalf("waiting for %s (%s): %v\npage text:\n%s", what, expr, err, body)
}

// evalJS evaluates expr in the page.
func evalJS[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// click clicks the element a CSS selector finds.
// A live update may replace the node between its lookup and the click
// ("Could not find node with given id"): the click looks it up again.
func click(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	var err error
	for range 5 {
		if err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err == nil || !strings.Contains(err.Error(), "Could not find node") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

// markPage sets a marker in the page's window: it survives live updates
// and is gone after a reload.
func markPage(t *testing.T, ctx context.Context) {
	t.Helper()
	evalJS[bool](t, ctx, `window.__ferryMarker = 42; true`)
}

// requireNoReload fails the test when the page was reloaded since markPage.
func requireNoReload(t *testing.T, ctx context.Context) {
	t.Helper()
	if v := evalJS[int](t, ctx, `window.__ferryMarker || 0`); v != 42 {
		t.Fatalf("the page was reloaded (its marker is gone): the update was not live")
	}
}

// navigate opens path on the portal.
func navigate(t *testing.T, ctx context.Context, p portal, path string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(p.Base+path)); err != nil {
		t.Fatalf("navigate to %s: %v", path, err)
	}
}

// httpStatus is the status of a plain request (no cookie, no token).
func httpStatus(t *testing.T, method, u string) int {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
