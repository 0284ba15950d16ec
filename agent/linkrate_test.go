package agent

import (
	"testing"
	"time"

	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/hashicorp/go-hclog"
)

func TestCompressionFollowsTheLink(t *testing.T) {
	c := &Conn{Target: compute.Target{Name: "t", Type: compute.TypeRemote}, home: t.TempDir(), logger: hclog.NewNullLogger()}
	if got := c.compression(); got != api.CompressFast {
		t.Fatalf("never measured: %v, want CompressFast", got)
	}
	tests := []struct {
		name  string
		bytes int64
		d     time.Duration
		want  api.Compression
	}{
		{"loopback", 400 << 20, time.Second, api.CompressNone},
		{"gigabit", 110 << 20, time.Second, api.CompressNone},
		{"100 Mbit/s", 12 << 20, time.Second, api.CompressMore},
		{"300 Mbit/s", 36 << 20, time.Second, api.CompressFast},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.rememberRate(tt.bytes, tt.d)
			if got := c.compression(); got != tt.want {
				t.Errorf("after %d bytes in %v: %v, want %v", tt.bytes, tt.d, got, tt.want)
			}
		})
	}
	// A small upload measures latency, not the link: the estimate stays.
	c.rememberRate(1<<20, time.Second)
	if got := c.compression(); got != api.CompressFast {
		t.Errorf("after a small upload: %v, want the earlier CompressFast", got)
	}
	local := &Conn{Target: compute.Target{Name: "l", Type: compute.TypeLocal}, home: c.home}
	if got := local.compression(); got != api.CompressNone {
		t.Errorf("local target: %v, want CompressNone", got)
	}
}

// TestInstallRateJudgesAnUnmeasuredLink: on first contact the executor's
// install is the only measure of the link; a remembered rate wins over it.
func TestInstallRateJudgesAnUnmeasuredLink(t *testing.T) {
	newConn := func() *Conn {
		return &Conn{Target: compute.Target{Name: "t", Type: compute.TypeRemote}, home: t.TempDir(), logger: hclog.NewNullLogger()}
	}
	tests := []struct {
		name  string
		bytes int64
		d     time.Duration
		want  api.Compression
	}{
		{"100 Mbit/s: 3.3 MB in 0.36 s", 3_300_000, 360 * time.Millisecond, api.CompressMore},
		{"loopback: 3.3 MB in 0.1 s", 3_300_000, 100 * time.Millisecond, api.CompressFast},
		{"a fast LAN, the binary sent as it is", 9_300_000, 80 * time.Millisecond, api.CompressNone},
		{"too small to say", 500_000, time.Second, api.CompressFast},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newConn()
			c.noteInstallRate(tt.bytes, tt.d)
			if got := c.compression(); got != tt.want {
				t.Errorf("compression = %v, want %v", got, tt.want)
			}
		})
	}
	c := newConn()
	c.noteInstallRate(3_300_000, 360*time.Millisecond)
	c.rememberRate(300<<20, time.Second)
	if got := c.compression(); got != api.CompressNone {
		t.Errorf("a remembered loopback rate after a slow install: %v, want CompressNone", got)
	}
}
