package main

// ferry's diagnostics in its own format: "ferry: warning: ..." on stderr,
// like every other message ferry prints there, instead of hclog's
// timestamped "2026-01-02T15:04:05.000Z [WARN]  ferry.conn: ...".

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// logWriter rewrites the lines of hclog's text format (with DisableTime)
// into ferry's: "[WARN]  ferry.transport: msg: k=v" becomes
// "ferry: warning: transport: msg: k=v". Lines of another shape (a
// multi-line value's continuation) pass as they are.
type logWriter struct {
	mu      sync.Mutex
	w       io.Writer
	partial []byte
}

// levelWords maps hclog's level tags to ferry's words.
var levelWords = map[string]string{
	"[TRACE]": "trace", "[DEBUG]": "debug", "[INFO]": "info", "[WARN]": "warning", "[ERROR]": "error",
}

func (l *logWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, b...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := ferryLogLine(string(l.partial[:i]))
		l.partial = l.partial[i+1:]
		if _, err := io.WriteString(l.w, line+"\n"); err != nil {
			return 0, err
		}
	}
}

// ferryLogLine rewrites one hclog line.
func ferryLogLine(line string) string {
	tag, rest, ok := strings.Cut(line, " ")
	word, known := levelWords[tag]
	if !ok || !known {
		return line
	}
	rest = strings.TrimLeft(rest, " ")
	rest = strings.TrimPrefix(rest, "ferry: ")
	rest = strings.TrimPrefix(rest, "ferry.")
	return "ferry: " + word + ": " + rest
}
