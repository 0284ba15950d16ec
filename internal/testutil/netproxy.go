package testutil

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ProxyOptions configures StartProxy.
type ProxyOptions struct {
	// Delay is added to each direction: a chunk read at time t is written at
	// t+Delay. The proxy is a delay line, not a sleep per read, so order and
	// throughput are kept (up to 16 MiB in flight per direction); a round
	// trip through it takes 2*Delay more.
	Delay time.Duration
}

// Proxy is a TCP proxy on 127.0.0.1 for fault and latency tests: it adds
// latency, freezes traffic (a dead peer), and cuts connections. Its methods
// are safe for concurrent use. Every goroutine it starts ends by Close,
// which StartProxy registers with t.Cleanup.
type Proxy struct {
	target string
	delay  time.Duration
	ln     net.Listener
	log    func(format string, args ...any)

	gate      *proxyGate
	ctx       context.Context // canceled by Close: ends dials in progress
	cancel    context.CancelFunc
	bytesUp   atomic.Int64
	bytesDown atomic.Int64

	mu        sync.Mutex
	links     map[*proxyLink]struct{}
	dropAfter int64 // -1: never
	closed    bool

	wg sync.WaitGroup
}

// Chunking: a direction reads into proxyChunkSize buffers and holds at most
// proxyMaxChunks of them in flight, so 16 MiB per direction at most.
const (
	proxyChunkSize = 64 << 10
	proxyMaxChunks = 256
)

var proxyChunkPool = sync.Pool{New: func() any { b := make([]byte, proxyChunkSize); return &b }}

// StartProxy listens on 127.0.0.1:0 and forwards every connection to target
// (host:port). It is closed by t.Cleanup.
func StartProxy(t testing.TB, target string, opts ProxyOptions) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for proxy: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{
		target:    target,
		ctx:       ctx,
		cancel:    cancel,
		delay:     opts.Delay,
		ln:        ln,
		log:       t.Logf,
		gate:      newProxyGate(),
		links:     make(map[*proxyLink]struct{}),
		dropAfter: -1,
	}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.Close)
	return p
}

// Addr returns the proxy's listening address, "127.0.0.1:PORT".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Port returns the proxy's listening port.
func (p *Proxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// Freeze stops forwarding in both directions without closing anything, as
// a dead peer or a cut cable would: data already read waits in the proxy,
// and senders block once the kernel buffers fill. New connections are
// accepted but carry nothing until Unfreeze.
func (p *Proxy) Freeze() { p.gate.close() }

// Unfreeze resumes forwarding after Freeze.
func (p *Proxy) Unfreeze() { p.gate.open() }

// DropAll closes every current connection abruptly, with a TCP reset on
// both sides. The proxy keeps accepting new ones.
func (p *Proxy) DropAll() {
	for _, l := range p.snapshotLinks() {
		l.abort()
	}
}

// DropAfter cuts each connection, with a reset on both sides, once n more
// bytes went client->server through it: current connections count from
// this call, new ones from their start. A negative n cancels it.
func (p *Proxy) DropAfter(n int64) {
	p.mu.Lock()
	p.dropAfter = n
	for l := range p.links {
		l.budget.Store(n)
	}
	p.mu.Unlock()
}

// BytesUp returns the bytes forwarded client->server so far, all
// connections together.
func (p *Proxy) BytesUp() int64 { return p.bytesUp.Load() }

// BytesDown returns the bytes forwarded server->client so far.
func (p *Proxy) BytesDown() int64 { return p.bytesDown.Load() }

// Close stops listening, resets every connection and waits for all the
// proxy's goroutines to end. It is idempotent.
func (p *Proxy) Close() {
	p.mu.Lock()
	already := p.closed
	p.closed = true
	p.mu.Unlock()
	if !already {
		p.cancel()
		_ = p.ln.Close()
		p.DropAll()
	}
	p.wg.Wait()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				p.log("proxy: accept: %v", err)
			}
			return
		}
		p.wg.Add(1)
		go p.handle(c)
	}
}

// handle dials the target for client c and runs the link until it ends.
func (p *Proxy) handle(c net.Conn) {
	defer p.wg.Done()
	dialer := net.Dialer{Timeout: 10 * time.Second}
	s, err := dialer.DialContext(p.ctx, "tcp", p.target)
	if err != nil {
		p.log("proxy: dial %s: %v", p.target, err)
		resetConn(c)
		return
	}
	l := newProxyLink(c, s)
	if !p.register(l) {
		l.abort()
		return
	}
	defer p.unregister(l)
	l.run(p)
}

func (p *Proxy) register(l *proxyLink) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	l.budget.Store(p.dropAfter)
	p.links[l] = struct{}{}
	return true
}

func (p *Proxy) unregister(l *proxyLink) {
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
}

func (p *Proxy) snapshotLinks() []*proxyLink {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*proxyLink, 0, len(p.links))
	for l := range p.links {
		out = append(out, l)
	}
	return out
}

// proxyLink is one proxied connection: client c, server s.
type proxyLink struct {
	c, s     net.Conn
	budget   atomic.Int64 // client->server bytes left before a cut; -1: no limit
	done     chan struct{}
	doneOnce sync.Once
}

func newProxyLink(c, s net.Conn) *proxyLink {
	for _, conn := range []net.Conn{c, s} {
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetNoDelay(true)
		}
	}
	l := &proxyLink{c: c, s: s, done: make(chan struct{})}
	l.budget.Store(-1)
	return l
}

// run forwards both directions, each a reader and a delayed writer, and
// returns when all four goroutines ended; then both sockets are closed.
func (l *proxyLink) run(p *Proxy) {
	var wg sync.WaitGroup
	up := &proxyDirection{p: p, l: l, src: l.c, dst: l.s, count: &p.bytesUp, budget: &l.budget}
	down := &proxyDirection{p: p, l: l, src: l.s, dst: l.c, count: &p.bytesDown}
	for _, d := range []*proxyDirection{up, down} {
		d.ch = make(chan proxyChunk, proxyMaxChunks)
		wg.Add(2)
		go func() { defer wg.Done(); d.read() }()
		go func() { defer wg.Done(); d.write() }()
	}
	wg.Wait()
	_ = l.c.Close()
	_ = l.s.Close()
}

// abort resets both sockets, which ends the link's goroutines.
func (l *proxyLink) abort() {
	l.doneOnce.Do(func() {
		close(l.done)
		resetConn(l.c)
		resetConn(l.s)
	})
}

// proxyChunk is data read at time at; a nil buf means end of stream.
type proxyChunk struct {
	buf *[]byte
	n   int
	at  time.Time
}

// proxyDirection is one way of a link: read from src, write to dst after delay.
type proxyDirection struct {
	p        *Proxy
	l        *proxyLink
	src, dst net.Conn
	ch       chan proxyChunk
	count    *atomic.Int64
	budget   *atomic.Int64 // nil: never cut
}

// read reads src into chunks until EOF or error; EOF travels as a nil
// chunk so the writer half-closes dst in order, an error aborts the link.
func (d *proxyDirection) read() {
	defer close(d.ch)
	for {
		if !d.p.gate.wait(d.l.done) {
			return
		}
		bp := proxyChunkPool.Get().(*[]byte)
		n, err := d.src.Read(*bp)
		if n > 0 && !d.send(proxyChunk{buf: bp, n: n, at: time.Now()}) {
			return
		}
		if n == 0 {
			proxyChunkPool.Put(bp)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				d.send(proxyChunk{at: time.Now()})
			} else {
				d.l.abort()
			}
			return
		}
	}
}

func (d *proxyDirection) send(c proxyChunk) bool {
	select {
	case d.ch <- c:
		return true
	case <-d.l.done:
		if c.buf != nil {
			proxyChunkPool.Put(c.buf)
		}
		return false
	}
}

// write writes each chunk at its read time plus the delay, waiting while
// the proxy is frozen; it drains the channel even after an abort so the
// reader never blocks.
func (d *proxyDirection) write() {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	ok := true
	for c := range d.ch {
		if ok {
			ok = d.forward(c, timer)
		}
		if c.buf != nil {
			proxyChunkPool.Put(c.buf)
		}
	}
}

// forward delivers one chunk; false means the link is finished.
func (d *proxyDirection) forward(c proxyChunk, timer *time.Timer) bool {
	if wait := time.Until(c.at.Add(d.p.delay)); wait > 0 {
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-d.l.done:
			return false
		}
	}
	if !d.p.gate.wait(d.l.done) {
		return false
	}
	if c.buf == nil {
		closeWriteConn(d.dst)
		return true
	}
	data, cut := d.limit((*c.buf)[:c.n])
	n, err := d.dst.Write(data)
	d.count.Add(int64(n))
	if err != nil || cut {
		d.l.abort()
		return false
	}
	return true
}

// limit trims data to the link's remaining client->server budget and
// reports whether the link must be cut after writing it.
func (d *proxyDirection) limit(data []byte) ([]byte, bool) {
	if d.budget == nil {
		return data, false
	}
	for {
		left := d.budget.Load()
		if left < 0 {
			return data, false
		}
		if int64(len(data)) >= left {
			return data[:left], true
		}
		if d.budget.CompareAndSwap(left, left-int64(len(data))) {
			return data, false
		}
	}
}

// proxyGate blocks forwarding while closed (frozen).
type proxyGate struct {
	mu   sync.Mutex
	ch   chan struct{} // closed while the proxyGate is open
	shut bool
}

func newProxyGate() *proxyGate {
	ch := make(chan struct{})
	close(ch)
	return &proxyGate{ch: ch}
}

func (g *proxyGate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.shut {
		g.shut = true
		g.ch = make(chan struct{})
	}
}

func (g *proxyGate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.shut {
		g.shut = false
		close(g.ch)
	}
}

// wait returns true once the proxyGate is open, false if done closes first.
func (g *proxyGate) wait(done <-chan struct{}) bool {
	g.mu.Lock()
	ch := g.ch
	g.mu.Unlock()
	select {
	case <-ch:
		return true
	case <-done:
		return false
	}
}

// reset closes conn with a TCP RST instead of a FIN.
func resetConn(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func closeWriteConn(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}
