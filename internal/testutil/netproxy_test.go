package testutil

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestProxyEchoRoundTrip(t *testing.T) {
	p := StartProxy(t, startTCPServer(t, echoConn), ProxyOptions{})
	c := dialTCP(t, p.Addr())
	msg := []byte("hello through the proxy")
	if got := pingConn(t, c, msg); !bytes.Equal(got, msg) {
		t.Fatalf("echo = %q, want %q", got, msg)
	}
	_ = c.Close()
	p.Close()
	if up, down := p.BytesUp(), p.BytesDown(); up != int64(len(msg)) || down != int64(len(msg)) {
		t.Fatalf("BytesUp, BytesDown = %d, %d; want %d each", up, down, len(msg))
	}
}

func TestProxyDelayAddsTwiceToRoundTrip(t *testing.T) {
	const delay = 20 * time.Millisecond
	p := StartProxy(t, startTCPServer(t, echoConn), ProxyOptions{Delay: delay})
	c := dialTCP(t, p.Addr())
	var rtts []time.Duration
	for range 5 {
		start := time.Now()
		pingConn(t, c, []byte("x"))
		rtts = append(rtts, time.Since(start))
	}
	slices.Sort(rtts)
	median := rtts[len(rtts)/2]
	if median < 2*delay || median > 2*delay+40*time.Millisecond {
		t.Fatalf("median round trip %v through a %v proxy, want about %v", median, delay, 2*delay)
	}
}

// TestProxyDelayKeepsThroughput checks that the delay is a delay line: a
// sleep per read would cap 64 KiB reads at 13 MB/s behind 5 ms. The delayed
// rate is compared with an undelayed proxy's on the same machine, and must
// be over 100 MB/s absolute unless the machine cannot even do 200 undelayed
// (race detector, heavy load).
func TestProxyDelayKeepsThroughput(t *testing.T) {
	const delay = 5 * time.Millisecond
	server := startTCPServer(t, countAndReply)
	base := bestRate(t, StartProxy(t, server, ProxyOptions{}), 0)
	rate := bestRate(t, StartProxy(t, server, ProxyOptions{Delay: delay}), 2*delay)
	t.Logf("50 MB: %.0f MB/s through a %v delay proxy, %.0f MB/s undelayed", rate, delay, base)
	if rate < base/2 {
		t.Fatalf("%.0f MB/s through a %v delay proxy, want at least half of undelayed %.0f MB/s", rate, delay, base)
	}
	if base >= 200 && rate < 100 {
		t.Fatalf("%.0f MB/s through a %v delay proxy, want over 100 MB/s", rate, delay)
	}
}

// bestRate sends 50 MB through p twice and returns the better rate in MB/s;
// each transfer must take at least minTime.
func bestRate(t *testing.T, p *Proxy, minTime time.Duration) float64 {
	t.Helper()
	best := 0.0
	for range 2 {
		elapsed := sendThrough(t, p.Addr(), 50<<20)
		if elapsed < minTime {
			t.Fatalf("50 MB took %v through the proxy, less than its delay %v", elapsed, minTime)
		}
		best = max(best, float64(50<<20)/elapsed.Seconds()/1e6)
	}
	return best
}

// sendThrough writes size bytes to a countAndReply server at addr, checks
// the count it replies, and returns the time taken.
func sendThrough(t *testing.T, addr string, size int) time.Duration {
	t.Helper()
	c := dialTCP(t, addr)
	defer c.Close()
	payload := make([]byte, 1<<20)
	start := time.Now()
	for sent := 0; sent < size; sent += len(payload) {
		if _, err := c.Write(payload); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	var n uint64
	if err := binary.Read(c, binary.BigEndian, &n); err != nil {
		t.Fatalf("read count: %v", err)
	}
	if n != uint64(size) {
		t.Fatalf("server got %d bytes, want %d", n, size)
	}
	return time.Since(start)
}

func TestProxyFreezeBlocksUntilUnfreeze(t *testing.T) {
	p := StartProxy(t, startTCPServer(t, echoConn), ProxyOptions{})
	c := dialTCP(t, p.Addr())
	pingConn(t, c, []byte("before"))
	p.Freeze()
	if _, err := c.Write([]byte("frozen")); err != nil {
		t.Fatalf("write while frozen: %v", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 16)
	if n, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read while frozen = %d bytes, %v; want a timeout", n, err)
	}
	p.Unfreeze()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, buf[:6]); err != nil || string(buf[:6]) != "frozen" {
		t.Fatalf("read after unfreeze = %q, %v; want %q", buf[:6], err, "frozen")
	}
}

func TestProxyCloseWhileFrozen(t *testing.T) {
	p := StartProxy(t, startTCPServer(t, echoConn), ProxyOptions{Delay: time.Millisecond})
	c := dialTCP(t, p.Addr())
	p.Freeze()
	if _, err := c.Write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	p.Close() // must not hang on the frozen link's goroutines
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read after Close succeeded, want an error")
	}
}

func TestProxyDropAllBreaksConnections(t *testing.T) {
	p := StartProxy(t, startTCPServer(t, echoConn), ProxyOptions{})
	c := dialTCP(t, p.Addr())
	pingConn(t, c, []byte("x"))
	p.DropAll()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after DropAll = %v, want a reset or EOF", err)
	}
	if got := pingConn(t, dialTCP(t, p.Addr()), []byte("again")); string(got) != "again" {
		t.Fatalf("new connection after DropAll echoed %q", got)
	}
}

func TestProxyDropAfter(t *testing.T) {
	got := make(chan int64, 1)
	addr := startTCPServer(t, func(c net.Conn) {
		n, _ := io.Copy(io.Discard, c)
		got <- n
	})
	p := StartProxy(t, addr, ProxyOptions{})
	p.DropAfter(1000)
	c := dialTCP(t, p.Addr())
	for range 4 {
		_, _ = c.Write(make([]byte, 1000))
	}
	select {
	case n := <-got:
		if n != 1000 {
			t.Fatalf("server received %d bytes, want 1000", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("connection was not cut")
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("client read after the cut = %v, want a reset or EOF", err)
	}
}

// echoConn writes back everything it reads.
func echoConn(c net.Conn) { _, _ = io.Copy(c, c) }

// countAndReply reads to EOF, then writes the byte count (uint64).
func countAndReply(c net.Conn) {
	n, err := io.Copy(io.Discard, c)
	if err == nil {
		_ = binary.Write(c, binary.BigEndian, uint64(n))
	}
}

// startTCPServer serves handle on 127.0.0.1:0 until the test ends.
func startTCPServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); defer c.Close(); handle(c) }()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func dialTCP(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// pingConn writes msg and reads back as many bytes.
func pingConn(t *testing.T, c net.Conn, msg []byte) []byte {
	t.Helper()
	if _, err := c.Write(msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read: %v", err)
	}
	return buf
}
