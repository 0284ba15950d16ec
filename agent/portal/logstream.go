package portal

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/executor/api"
)

// maxInitialLog is how much of a long log the page starts with; the whole
// log is one click away (log.txt).
const maxInitialLog = 1 << 20

// handleLogStream pushes the run's log as server-sent events, straight
// from the executor's follow stream: "log" events carry text (a JSON
// string) with the byte offset after it as the event id, so a browser that
// reconnects resumes where it stopped; "skipped" says the start of a long
// log was left out; "end" carries the final status once the run has ended
// and every byte was sent; "failure" says why the log cannot be streamed.
func (s *Server) handleLogStream(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.lookup(w, r)
	if !ok {
		return
	}
	sse, ok := newSSE(w)
	if !ok {
		return
	}
	ctx := r.Context()
	if rec.Status.Terminal() && s.cfg.History.HasLog(rec.ID) {
		s.streamKeptLog(r, rec, sse)
		return
	}
	conn, err := s.connect(ctx, rec.Compute)
	if err != nil {
		sse.event("failure", "", jsonString(err.Error()))
		return
	}
	defer conn.Close()
	offset, err := s.startOffset(ctx, r, conn, rec.ID, sse)
	if err != nil {
		sse.event("failure", "", jsonString(err.Error()))
		return
	}
	lw := &logEvents{sse: sse, offset: offset}
	run, err := conn.Follow(ctx, rec.ID, offset, lw)
	if ctx.Err() != nil {
		return
	}
	lw.flush()
	if err != nil {
		sse.event("failure", "", jsonString(err.Error()))
		return
	}
	s.recordEnd(ctx, conn, rec, run)
	end, _ := json.Marshal(map[string]any{"status": run.Status, "exit_code": run.ExitCode, "reason": run.Reason})
	sse.event("end", strconv.FormatInt(lw.offset, 10), string(end))
}

// startOffset is where the stream starts: after the last event the
// browser saw, else at ?offset, else the last maxInitialLog bytes.
func (s *Server) startOffset(ctx context.Context, r *http.Request, conn Conn, id string, sse *sse) (int64, error) {
	for _, v := range []string{r.Header.Get("Last-Event-ID"), r.URL.Query().Get("offset")} {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			return n, nil
		}
	}
	run, err := conn.Run(ctx, id)
	if err != nil {
		return 0, err
	}
	if run.LogSize <= maxInitialLog {
		return 0, nil
	}
	start := run.LogSize - maxInitialLog
	sse.event("skipped", "", strconv.FormatInt(start, 10))
	return start, nil
}

// recordEnd records a run the stream saw end, as the CLI does (status,
// metrics, its log kept locally, outputs collected), so that every page
// shows it, also once the target is gone.
func (s *Server) recordEnd(ctx context.Context, conn Conn, rec history.Record, run api.Run) {
	if rec.Status.Terminal() && rec.Outputs != nil && s.cfg.History.HasLog(rec.ID) && s.cfg.History.HasMetrics(rec.ID) {
		return
	}
	fin := s.runner.Finish(ctx, conn, run)
	for _, err := range []error{fin.RecordErr, fin.OutputsErr} {
		if err != nil {
			s.log.Warn("record the end of a run", "run_id", rec.ID, "error", err)
		}
	}
}

// logEvents turns log bytes into "log" events. A multi-byte character
// split across two writes is held back until it is whole, so the browser
// never sees half of one.
type logEvents struct {
	sse    *sse
	offset int64 // bytes sent so far, from the start of the log
	carry  []byte
	err    error
}

func (l *logEvents) Write(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	buf := append(l.carry, p...)
	cut := completeUTF8(buf)
	l.carry = append([]byte(nil), buf[cut:]...)
	if cut > 0 {
		l.offset += int64(cut)
		l.err = l.sse.event("log", strconv.FormatInt(l.offset, 10), jsonString(string(buf[:cut])))
	}
	if l.err != nil {
		return 0, fmt.Errorf("send log event: %w", l.err)
	}
	return len(p), nil
}

// flush sends a held-back partial character (the log ended in it).
func (l *logEvents) flush() {
	if len(l.carry) > 0 && l.err == nil {
		l.offset += int64(len(l.carry))
		l.sse.event("log", strconv.FormatInt(l.offset, 10), jsonString(string(l.carry)))
		l.carry = nil
	}
}

var _ io.Writer = (*logEvents)(nil)

// completeUTF8 returns the length of the longest prefix of b that does not
// end inside a multi-byte character (at most 3 bytes are held back).
func completeUTF8(b []byte) int {
	for back := 1; back <= 3 && back <= len(b); back++ {
		c := b[len(b)-back]
		if c < 0x80 {
			return len(b) // ASCII: nothing open
		}
		if utf8.RuneStart(c) {
			if utf8.FullRune(b[len(b)-back:]) {
				return len(b)
			}
			return len(b) - back
		}
	}
	return len(b)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// streamKeptLog sends a finished run's log from the local history: no
// connection, and it works once the target is gone.
func (s *Server) streamKeptLog(r *http.Request, rec history.Record, sse *sse) {
	size, err := s.keptLogSize(rec.ID)
	if err != nil {
		sse.event("failure", "", jsonString(err.Error()))
		return
	}
	offset := int64(-1)
	for _, v := range []string{r.Header.Get("Last-Event-ID"), r.URL.Query().Get("offset")} {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 && offset < 0 {
			offset = n
		}
	}
	if offset < 0 {
		offset = max(0, size-maxInitialLog)
		if offset > 0 {
			sse.event("skipped", "", strconv.FormatInt(offset, 10))
		}
	}
	f, err := s.cfg.History.OpenLog(rec.ID)
	if err != nil {
		sse.event("failure", "", jsonString(err.Error()))
		return
	}
	defer f.Close()
	lw := &logEvents{sse: sse, offset: offset}
	if _, err := io.CopyN(io.Discard, f, offset); err != nil && err != io.EOF {
		sse.event("failure", "", jsonString(err.Error()))
		return
	}
	if _, err := io.Copy(lw, f); err != nil {
		return
	}
	lw.flush()
	end, _ := json.Marshal(map[string]any{"status": rec.Status, "exit_code": rec.ExitCode, "reason": rec.Reason})
	sse.event("end", strconv.FormatInt(lw.offset, 10), string(end))
}

// keptLogSize is the length of a kept log (it is stored compressed).
func (s *Server) keptLogSize(id string) (int64, error) {
	f, err := s.cfg.History.OpenLog(id)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := io.Copy(io.Discard, f)
	if err != nil {
		return 0, fmt.Errorf("read log of run %s: %w", id, err)
	}
	return n, nil
}

// handleLogText sends the whole log as plain text.
func (s *Server) handleLogText(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.lookup(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'")
	if f, err := s.cfg.History.OpenLog(rec.ID); err == nil {
		defer f.Close()
		io.Copy(w, f)
		return
	}
	conn, err := s.connect(r.Context(), rec.Compute)
	if err != nil {
		s.fail(w, http.StatusBadGateway, err.Error())
		return
	}
	defer conn.Close()
	if err := conn.ReadLog(r.Context(), rec.ID, 0, w); err != nil {
		s.log.Debug("send log", "run_id", rec.ID, "error", err)
	}
}
