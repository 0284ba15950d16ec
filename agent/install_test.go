package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/buildinfo"
	"github.com/hashicorp/go-hclog"
)

// fakeExecutor stands in for ferry-executor in the install scripts: its
// "install" renames itself to executor/<version>/ferry-executor, as the
// real one does, and "ensure" prints a protocol line naming the socket.
const fakeExecutor = `#!/bin/sh
case $1 in
install) mkdir -p "$3/executor/` + "VERSION" + `" && mv "$0" "$3/executor/` + "VERSION" + `/ferry-executor" && echo installed ;;
ensure) echo "noise from an rc file"; echo "` + api.Magic + ` PROTO VERSION $3/executor.sock" ;;
esac
`

// TestInstallScripts runs ensureScript and installScript through the
// local endpoint with a fake executor: first contact finds it missing and
// the machine, then the install (gzip-compressed on stdin, and plain)
// leaves it in place, started, with only the protocol line taken.
func TestInstallScripts(t *testing.T) {
	for _, level := range []api.Compression{api.CompressFast, api.CompressNone} {
		state := filepath.Join(t.TempDir(), "state")
		bin := t.TempDir()
		fake := strings.NewReplacer("VERSION", buildinfo.String(), "PROTO", "2").Replace(fakeExecutor)
		if err := os.WriteFile(filepath.Join(bin, "ferry-executor-linux-amd64"), []byte(fake), 0o755); err != nil {
			t.Fatal(err)
		}
		os.Symlink("ferry-executor-linux-amd64", filepath.Join(bin, "ferry-executor-linux-arm64"))
		c := &Conn{Target: compute.Target{Name: "t", Type: compute.TypeRemote, StateDir: state}, ep: localEndpoint{},
			home: t.TempDir(), opts: ConnectOptions{ExecutorDir: bin}, logger: hclog.NewNullLogger()}
		if level == api.CompressNone {
			c.rememberRate(1<<30, 1e9) // a fast link: sent as it is
		}
		_, err := c.runEnsure(t.Context())
		missing, ok := err.(*missingExecutor)
		if !ok {
			t.Fatalf("first ensure: %v, want *missingExecutor", err)
		}
		if missing.stateDir != state || missing.machine == "" || !missing.gzip {
			t.Fatalf("missing: %+v", missing)
		}
		line, err := c.install(t.Context(), missing)
		want := api.Magic + " 2 " + buildinfo.String() + " " + state + "/executor.sock"
		if err != nil || line != want {
			t.Fatalf("install (level %d): %q, %v; want %q", level, line, err, want)
		}
		if line, err := c.runEnsure(t.Context()); err != nil || line != want {
			t.Fatalf("ensure after install: %q, %v", line, err)
		}
		if ents, _ := os.ReadDir(filepath.Join(state, "tmp")); len(ents) != 0 {
			t.Errorf("temp files left: %v", ents)
		}
	}
}
