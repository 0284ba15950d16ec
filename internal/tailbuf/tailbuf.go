// Package tailbuf keeps the last bytes of a command's output, for the error
// that reports the command's failure.
package tailbuf

import (
	"strings"
	"sync"
)

// Buffer is an io.Writer that keeps about the last Max bytes written to it.
// It is safe for concurrent use (stdout and stderr may share one).
type Buffer struct {
	Max int

	mu  sync.Mutex
	buf []byte
}

// New returns a Buffer that keeps the last max bytes.
func New(max int) *Buffer { return &Buffer{Max: max} }

// Write implements io.Writer; it never fails.
func (t *Buffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.Max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.Max:]...)
	}
	return len(p), nil
}

// String returns the kept tail, starting at a line boundary when it was cut,
// trimmed, with control characters other than newline and tab shown as '?'.
func (t *Buffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := string(t.buf)
	if len(b) > t.Max {
		b = b[len(b)-t.Max:]
		if i := strings.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return '?'
		}
		return r
	}, strings.TrimSpace(b))
}
