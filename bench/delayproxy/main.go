// Command delayproxy is the benchmarks' TCP proxy: it forwards 127.0.0.1
// connections to a target, adding a fixed delay to each direction (a delay
// line as in internal/testutil.StartProxy: order and throughput kept, a
// round trip takes 2*delay more), and counts the bytes each way. After each
// connection ends it writes the running totals, "UP DOWN\n", to the stats
// file (temp file + rename), so a script can diff them around a command.
//
// Usage: delayproxy -listen 127.0.0.1:PORT -target 127.0.0.1:22 [-delay 5ms] [-stats FILE]
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

const chunkSize = 64 << 10

// proxy holds the settings and the byte counters.
type proxy struct {
	target   string
	delay    time.Duration
	stats    string
	up, down atomic.Int64
	statsMu  sync.Mutex
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	target := flag.String("target", "", "address to forward to")
	delay := flag.Duration("delay", 0, "delay added to each direction")
	stats := flag.String("stats", "", "file to write \"UP DOWN\" byte totals to")
	flag.Parse()
	if *target == "" {
		fmt.Fprintln(os.Stderr, "delayproxy: -target is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p := &proxy{target: *target, delay: *delay, stats: *stats}
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
	go func() { defer wg.Done(); p.pipe(s, c, &p.up) }()
	go func() { defer wg.Done(); p.pipe(c, s, &p.down) }()
	wg.Wait()
	p.writeStats()
}

// chunk is data read at time at; nil data means end of stream.
type chunk struct {
	data []byte
	at   time.Time
}

// pipe copies src to dst through a delay line and half-closes dst at EOF.
func (p *proxy) pipe(dst, src net.Conn, count *atomic.Int64) {
	ch := make(chan chunk, 256)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range ch {
			if wait := time.Until(c.at.Add(p.delay)); wait > 0 {
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
