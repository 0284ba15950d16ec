package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// TestLogFormat: hclog's lines come out in ferry's format, without a
// timestamp or a "[WARN]" tag, one line each.
func TestLogFormat(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger("warn", false, &buf)
	log.Named("transport").Warn("ssh server stopped answering keepalives; closing connection", "timeout", 15*time.Second)
	log.Warn("cannot refresh run", "run_id", "r1")
	log.Info("hidden at warn")
	want := "ferry: warning: transport: ssh server stopped answering keepalives; closing connection: timeout=15s\n" +
		"ferry: warning: cannot refresh run: run_id=r1\n"
	if got := buf.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	buf.Reset()
	newLogger("warn", true, &buf).Warn("as json", "k", 1)
	if !strings.HasPrefix(buf.String(), `{"@level":"warn"`) {
		t.Errorf("--log-json: %q", buf.String())
	}
	var _ hclog.Logger = log
}
