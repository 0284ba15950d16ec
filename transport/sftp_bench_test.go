package transport

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// BenchmarkSFTPUpload measures one 32 MiB upload at 10 ms RTT for the SFTP
// tuning knobs (requests in flight per file, packet size).
func BenchmarkSFTPUpload(b *testing.B) {
	s := testutil.StartSSHD(b, testutil.SSHDOptions{HostKeyTypes: []string{"ed25519"}})
	// 10 ms round trip, where requests in flight matter.
	proxy := testutil.StartProxy(b, s.Addr, testutil.ProxyOptions{Delay: 5 * time.Millisecond})
	kh := filepath.Join(b.TempDir(), "known_hosts")
	line := fmt.Sprintf("[127.0.0.1]:%d %s", proxy.Port(), ssh.MarshalAuthorizedKey(s.HostKeys["ed25519"]))
	if err := os.WriteFile(kh, []byte(line), 0o600); err != nil {
		b.Fatal(err)
	}
	c, err := Dial(b.Context(), Config{Host: s.Host, Port: proxy.Port(), User: s.User, KeyFile: s.KeyFile,
		KnownHostsFiles: []string{kh}, SSHConfigFile: "none", Logger: hclog.NewNullLogger()})
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
