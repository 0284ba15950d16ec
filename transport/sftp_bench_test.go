package transport

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/pkg/sftp"
)

// BenchmarkSFTPUpload measures one 32 MiB upload at 10 ms RTT for the SFTP
// tuning knobs (requests in flight per file, packet size).
func BenchmarkSFTPUpload(b *testing.B) {
	// 10 ms round trip, where requests in flight matter.
	c, err := Dial(b.Context(), configThroughProxy(b, 5*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	data := bytes.Repeat([]byte("ferry-bench-data"), 2<<20) // 32 MiB
	dir := b.TempDir()
	for _, inflight := range []int{8, 16, 64, 128} {
		for _, packet := range []int{32 << 10, 255 << 10} {
			b.Run(fmt.Sprintf("inflight=%d/packet=%dK", inflight, packet>>10), func(b *testing.B) {
				sc, err := sftp.NewClient(c.ssh, sftp.UseConcurrentWrites(true),
					sftp.MaxConcurrentRequestsPerFile(inflight), sftp.MaxPacketUnchecked(packet))
				if err != nil {
					b.Fatal(err)
				}
				defer sc.Close()
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					f, err := sc.Create(filepath.Join(dir, "blob"))
					if err != nil {
						b.Fatal(err)
					}
					if _, err := f.ReadFrom(bytes.NewReader(data)); err != nil {
						b.Fatal(err)
					}
					if err := f.Close(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
