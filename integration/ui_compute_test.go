package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ferry-ml/ferry/internal/testutil"
	"golang.org/x/crypto/ssh"
)

// TestUIAttachConfirmsHostKey attaches a real sshd whose host key is not
// known from the compute page: the page shows the key's fingerprint, and
// the target is saved (and the key recorded) only after confirming it. A
// check then reports the machine; detach removes it.
func TestUIAttachConfirmsHostKey(t *testing.T) {
	s := testutil.StartSSHD(t, testutil.SSHDOptions{KnownHostKeyTypes: []string{}})
	c := newCLI(t)
	knownHosts := filepath.Join(t.TempDir(), "known_hosts")
	p := c.startUI(t)
	ctx := browser(t, p)
	navigate(t, ctx, p, "/compute")
	fill := map[string]string{"name": "box", "address": s.Host, "port": strconv.Itoa(s.Port),
		"username": s.User, "private_key": s.KeyFile, "known_hosts": knownHosts, "state_dir": stateDir(t)}
	for field, v := range fill {
		if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(`#attach-form input[name=`+field+`]`), v)); err != nil {
			t.Fatalf("fill %s: %v", field, err)
		}
	}
	click(t, ctx, `#attach-form button[type=submit]`)
	waitJS(t, ctx, "the host key confirmation", `!!document.getElementById("fingerprint")`, 30*time.Second)
	shown := evalJS[string](t, ctx, `document.getElementById("fingerprint").textContent`)
	var real []string
	for _, k := range s.HostKeys {
		real = append(real, ssh.FingerprintSHA256(k))
	}
	if !contains(real, strings.TrimSpace(shown)) {
		t.Fatalf("page shows fingerprint %q, the server's keys are %v", shown, real)
	}
	if r := c.run("", "compute", "show", "box"); r.Code == 0 {
		t.Fatalf("target saved before the key was confirmed:\n%s", r.Stdout)
	}
	screenshot(t, ctx, "confirm")

	click(t, ctx, `#confirm`)
	waitJS(t, ctx, "the attached target", `!!document.querySelector('[data-target="box"]')`, 30*time.Second)
	c.mustRun("", "compute", "show", "box")
	if kh := readFile(t, knownHosts); !strings.Contains(kh, "[127.0.0.1]:"+strconv.Itoa(s.Port)) {
		t.Fatalf("known_hosts after confirming: %q", kh)
	}
	click(t, ctx, `[data-target="box"] button.check`)
	waitJS(t, ctx, "the check's report", `!!document.querySelector('[data-target="box"] table.facts')`, 60*time.Second)
	facts := evalJS[string](t, ctx, `document.querySelector('[data-target="box"] table.facts').innerText`)
	for _, want := range []string{"OS", "CPUs", "Memory", "GPUs", "Docker", "Conda", "Free disk"} {
		if !strings.Contains(facts, want) {
			t.Errorf("check report lacks %s:\n%s", want, facts)
		}
	}
	screenshot(t, ctx, "checked")

	click(t, ctx, `[data-target="box"] button.detach`)
	waitJS(t, ctx, "the target gone", `!document.querySelector('[data-target="box"]') && !!document.querySelector('[data-target="local"]')`, 30*time.Second)
	if r := c.run("", "compute", "show", "box"); r.Code == 0 {
		t.Fatalf("target still attached after detach")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
