package agent

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/fsutil"
)

// Pack compression is chosen from the throughput the last upload to the
// target reached: compressing costs CPU that only pays where the link,
// not the CPU, is the bottleneck. Loopback and LAN links (50 MB/s and more)
// send packs as they are; from 20 to 50 MB/s packs get zstd's fastest
// level, and below that (a laptop-to-cloud link: 100 Mbit/s is 12.5 MB/s)
// its better one. A target never measured is judged by the executor's
// install on this connection, when there was one (first contact): its
// bytes over the time from the script's request to the executor serving,
// which counts the target's decoding and start too, so it errs towards
// more compression. Else it gets the fastest level: its sampling keeps
// random data cheap, and the first sync measures the link for the next.
const (
	fastLink      = 50 << 20 // bytes/s from which packs go uncompressed
	slowLink      = 20 << 20 // bytes/s below which zstd's better level is used
	minRateSample = 4 << 20  // uploads smaller than this measure latency, not rate
	// minInstallSample: an install that sent less than this says nothing
	// of the link (every executor ferry ships sends more).
	minInstallSample = 1 << 20
)

// linkRate is what is remembered of a target's link.
type linkRate struct {
	BytesPerSecond int64 `json:"bytes_per_second"`
}

func (c *Conn) linkRatePath() string {
	return filepath.Join(c.home, "cache", "targets", c.Target.Name+".link")
}

// compression picks the pack compression for this target.
func (c *Conn) compression() api.Compression {
	if c.Target.Type == compute.TypeLocal {
		return api.CompressNone
	}
	var lr linkRate
	data, err := os.ReadFile(c.linkRatePath())
	if err != nil || json.Unmarshal(data, &lr) != nil || lr.BytesPerSecond <= 0 {
		if r := c.installRate.Load(); r > 0 {
			return compressionFor(r)
		}
		return api.CompressFast
	}
	return compressionFor(lr.BytesPerSecond)
}

func compressionFor(bytesPerSecond int64) api.Compression {
	switch {
	case bytesPerSecond >= fastLink:
		return api.CompressNone
	case bytesPerSecond >= slowLink:
		return api.CompressFast
	}
	return api.CompressMore
}

// rememberRate records the upload's throughput on the wire, when it moved
// enough bytes to say something about the link.
func (c *Conn) rememberRate(wire int64, d time.Duration) {
	if c.Target.Type == compute.TypeLocal || wire < minRateSample || d <= 0 {
		return
	}
	rate := int64(float64(wire) / d.Seconds())
	data, _ := json.Marshal(linkRate{BytesPerSecond: rate})
	if err := fsutil.WriteCacheFile(c.linkRatePath(), data, 0o600); err != nil {
		c.logger.Warn("cannot remember link rate", "error", err)
	}
	c.logger.Debug("upload rate", "bytes_per_second", rate, "next_compression", compressionFor(rate))
}

// noteInstallRate keeps the rate of an install that sent n bytes in d, for
// compression to use until an upload measures the link.
func (c *Conn) noteInstallRate(n int64, d time.Duration) {
	if n < minInstallSample || d <= 0 {
		return
	}
	rate := int64(float64(n) / d.Seconds())
	c.installRate.Store(rate)
	c.logger.Debug("install rate", "bytes_per_second", rate, "next_compression", compressionFor(rate))
}

// wireCounter counts the bytes written through it, from several goroutines.
type wireCounter struct {
	w io.Writer
	n *atomic.Int64
}

func (cw wireCounter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.n.Add(int64(n))
	return n, err
}
