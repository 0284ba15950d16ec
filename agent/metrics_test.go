package agent

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/executor/client"
	"github.com/hashicorp/go-hclog"
)

// TestReadMetricsResumes: a metrics stream that breaks off is resumed from
// the byte it stopped at, so that every byte arrives once.
func TestReadMetricsResumes(t *testing.T) {
	all := `{"name":"a","value":1}` + "\n" + `{"name":"b","value":2}` + "\n" + `{"name":"c","value":3}` + "\n"
	var offsets []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		offsets = append(offsets, r.URL.Query().Get("offset"))
		rest := all[off:]
		if len(offsets) == 1 { // promise everything, send 10 bytes, hang up
			conn, bw, _ := w.(http.Hijacker).Hijack()
			fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s: %d\r\n\r\n%s", len(rest), api.MetricsSizeHeader, len(all), rest[:10])
			bw.Flush()
			conn.Close()
			return
		}
		w.Header().Set(api.MetricsSizeHeader, strconv.Itoa(len(all)))
		w.Write([]byte(rest))
	}))
	defer srv.Close()
	dial := func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", srv.Listener.Addr().String())
	}
	c := &Conn{Executor: client.New(dial, hclog.NewNullLogger())}
	defer c.Executor.Close()
	var got bytes.Buffer
	if err := c.ReadMetrics(t.Context(), "r", &got); err != nil {
		t.Fatal(err)
	}
	if got.String() != all || len(offsets) != 2 || offsets[1] != "10" {
		t.Fatalf("read %q with offsets %v, want everything once, resumed at 10", got.String(), offsets)
	}
}
