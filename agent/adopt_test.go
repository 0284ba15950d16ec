package agent

import (
	"fmt"
	"testing"

	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/buildinfo"
)

// TestAdoptProtocolLine: adopt takes the socket from ensure's line, and
// "empty" at its end as word that the store holds nothing; anything else
// there, or another build, is refused.
func TestAdoptProtocolLine(t *testing.T) {
	line := fmt.Sprintf("%s %d %s /s/executor.sock", api.Magic, api.ProtocolVersion, buildinfo.String())
	for _, tc := range []struct {
		line      string
		ok, empty bool
	}{
		{line, true, false},
		{line + " " + api.EmptyStore, true, true},
		{line + " full", false, false},
		{line + " empty extra", false, false},
		{fmt.Sprintf("%s %d %s", api.Magic, api.ProtocolVersion, buildinfo.String()), false, false},
		{fmt.Sprintf("%s %d other-build /s/executor.sock empty", api.Magic, api.ProtocolVersion), false, false},
	} {
		c := &Conn{Target: compute.Target{Name: "t"}}
		err := c.adopt(tc.line)
		if (err == nil) != tc.ok {
			t.Errorf("adopt(%q) = %v, want ok %v", tc.line, err, tc.ok)
			continue
		}
		if tc.ok && (c.Socket != "/s/executor.sock" || c.StateDir != "/s" || c.emptyStore.Load() != tc.empty) {
			t.Errorf("adopt(%q): socket %q, state dir %q, empty %v", tc.line, c.Socket, c.StateDir, c.emptyStore.Load())
		}
	}
}
