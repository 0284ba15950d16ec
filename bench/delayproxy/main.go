// Command delayproxy is the benchmarks' TCP proxy: it forwards 127.0.0.1
// connections to a target, adding a fixed delay to each direction (a delay
// line as in internal/testutil.StartProxy: order and throughput kept, a
// round trip takes 2*delay more), and counts the bytes each way. After each
// connection ends, and every 50 ms while the totals change (so that bytes
// on a connection held open, a ControlMaster's or ferry's keeper's, are
// counted too), it writes the running totals, "UP DOWN\n", to the stats
// file (temp file + rename), so a script can diff them around a command.
//
// With -mbit each direction is also a link of that many Mbit/s, shared by
// all connections: a chunk is serialised onto the link once the chunks
// before it have been (len*8/rate seconds each), then delayed. The proxy
// buffers at most linkBuffer bytes per connection and direction, so a
// sender is held back, as by a real bottleneck, once that queue is full.
//
// Usage: delayproxy -listen 127.0.0.1:PORT -target 127.0.0.1:22 [-delay 5ms] [-mbit 100] [-stats FILE]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	chunkSize  = 16 << 10
	linkBuffer = 1 << 20 // queued bytes per connection and direction
)

// proxy holds the settings and the byte counters.
type proxy struct {
	target         string
	delay          time.Duration
	stats          string
	up, down       atomic.Int64
	upLink, dnLink link
	statsMu        sync.Mutex
}

// link is one direction's bottleneck: the time it is busy until.
type link struct {
	mu      sync.Mutex
	bitRate float64 // bits per second; 0: unlimited
	busy    time.Time
}

// due returns when a chunk of n bytes read at "at" leaves the link.
func (l *link) due(at time.Time, n int) time.Time {
	if l.bitRate == 0 {
		return at
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	start := l.busy
	if at.After(start) {
		start = at
	}
	l.busy = start.Add(time.Duration(float64(n*8) / l.bitRate * float64(time.Second)))
	return l.busy
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	target := flag.String("target", "", "address to forward to")
	delay := flag.Duration("delay", 0, "delay added to each direction")
	stats := flag.String("stats", "", "file to write \"UP DOWN\" byte totals to")
	mbit := flag.Float64("mbit", 0, "bandwidth of each direction in Mbit/s (0: unlimited)")
	flag.Parse()
	if *target == "" {
		fmt.Fprintln(os.Stderr, "delayproxy: -target is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p := &proxy{target: *target, delay: *delay, stats: *stats}
	p.upLink.bitRate, p.dnLink.bitRate = *mbit*1e6, *mbit*1e6
	if err := p.serve(ctx, *listen); err != nil {
		fmt.Fprintln(os.Stderr, "delayproxy:", err)
		os.Exit(1)
	}
}

func (p *proxy) serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	go func() { <-ctx.Done(); ln.Close() }()
	p.writeStats()
	go p.statsLoop(ctx)
	fmt.Println(ln.Addr().String())
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("accept: %w", err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); p.handle(ctx, c) }()
	}
}

func (p *proxy) handle(ctx context.Context, c net.Conn) {
	defer c.Close()
	var d net.Dialer
	s, err := d.DialContext(ctx, "tcp", p.target)
	if err != nil {
		fmt.Fprintln(os.Stderr, "delayproxy: dial:", err)
		return
	}
	defer s.Close()
	for _, conn := range []net.Conn{c, s} {
		conn.(*net.TCPConn).SetNoDelay(true)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pipe(s, c, &p.up, &p.upLink) }()
	go func() { defer wg.Done(); p.pipe(c, s, &p.down, &p.dnLink) }()
	wg.Wait()
	p.writeStats()
}

// chunk is data read at time at; nil data means end of stream.
type chunk struct {
	data []byte
	at   time.Time
}

// pipe copies src to dst through the link and a delay line and
// half-closes dst at EOF.
func (p *proxy) pipe(dst, src net.Conn, count *atomic.Int64, l *link) {
	ch := make(chan chunk, linkBuffer/chunkSize)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range ch {
			if wait := time.Until(l.due(c.at, len(c.data)).Add(p.delay)); wait > 0 {
				time.Sleep(wait)
			}
			if c.data == nil {
				dst.(*net.TCPConn).CloseWrite()
				continue
			}
			n, err := dst.Write(c.data)
			count.Add(int64(n))
			if err != nil {
				src.Close()
				for range ch {
				}
				return
			}
		}
	}()
	for {
		buf := make([]byte, chunkSize)
		n, err := src.Read(buf)
		if n > 0 {
			ch <- chunk{data: buf[:n], at: time.Now()}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				ch <- chunk{at: time.Now()}
			}
			break
		}
	}
	close(ch)
	<-done
}

// statsLoop writes the totals every 50 ms while they change.
func (p *proxy) statsLoop(ctx context.Context) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	var last [2]int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if now := [2]int64{p.up.Load(), p.down.Load()}; now != last {
			last = now
			p.writeStats()
		}
	}
}

// writeStats replaces the stats file with the current totals.
func (p *proxy) writeStats() {
	if p.stats == "" {
		return
	}
	p.statsMu.Lock()
	defer p.statsMu.Unlock()
	tmp, err := os.CreateTemp(filepath.Dir(p.stats), ".delayproxy-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, "delayproxy: stats:", err)
		return
	}
	fmt.Fprintf(tmp, "%d %d\n", p.up.Load(), p.down.Load())
	tmp.Close()
	if err := os.Rename(tmp.Name(), p.stats); err != nil {
		fmt.Fprintln(os.Stderr, "delayproxy: stats:", err)
	}
}
