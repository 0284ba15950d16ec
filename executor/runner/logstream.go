package runner

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

// followRecheck is the safety re-check of a followed log, in case an inotify
// event was lost; bytes normally go out as soon as inotify reports a write.
const followRecheck = 2 * time.Second

// handleLog serves GET /v1/runs/{id}/log?offset=N&follow=1: the log's raw
// bytes from offset N, byte-exact; with follow it pushes bytes as they are
// written and ends once the run is terminal and every byte was sent.
func (r *Runner) handleLog(w http.ResponseWriter, req *http.Request) {
	offset, err := parseOffset(req.URL.Query().Get("offset"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	follow := isTrue(req.URL.Query().Get("follow"))
	paths, done, err := r.logTarget(req.PathValue("id"))
	if err != nil {
		writeRunError(w, err)
		return
	}
	logPath, err := r.rankLog(req.PathValue("id"), paths, req.URL.Query().Get("rank"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	f, err := os.Open(logPath)
	if err != nil {
		writeRunError(w, fmt.Errorf("open run log: %w", err))
		return
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		writeRunError(w, fmt.Errorf("seek run log: %w", err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Ferry-Log-Offset", strconv.FormatInt(offset, 10))
	w.WriteHeader(http.StatusOK)
	if !follow {
		_, _ = io.Copy(w, f)
		return
	}
	r.followLog(req.Context(), w, f, logPath, done)
}

// rankLog is the log file of rank rank ("" or "0": the run's own log).
func (r *Runner) rankLog(id string, paths runPaths, rank string) (string, error) {
	if rank == "" || rank == "0" {
		return paths.log(), nil
	}
	n, err := strconv.Atoi(rank)
	run, gerr := r.Get(id)
	if gerr != nil {
		return "", gerr
	}
	procs := 1
	if run.Spec.Slurm != nil {
		procs = run.Spec.Slurm.Processes()
	}
	if err != nil || n < 0 || n >= procs {
		return "", fmt.Errorf("rank %q: run %s has ranks 0 to %d", rank, id, procs-1)
	}
	return rankLogPath(paths, n), nil
}

// logTarget returns the paths and done channel of run id.
func (r *Runner) logTarget(id string) (runPaths, <-chan struct{}, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.runs[id]
	if !ok {
		return "", nil, fmt.Errorf("run %s: %w", id, ErrRunNotFound)
	}
	return st.paths, st.done, nil
}

// followLog copies f to w as it grows, flushing after every burst, until the
// run is done and f is drained, the client goes away or the runner closes.
// The file is read sequentially from one descriptor, so the stream has no
// gaps and no repeats whatever the timing of the writes.
func (r *Runner) followLog(ctx context.Context, w http.ResponseWriter, f *os.File, logPath string, done <-chan struct{}) {
	rc := http.NewResponseController(w)
	// A follow lasts as long as the run: lift any server write timeout.
	_ = rc.SetWriteDeadline(time.Time{})
	wakeup, unsubscribe, err := r.files.subscribe(logPath, logPath)
	if err != nil {
		r.log.Warn("watch run log, re-checking periodically instead", "error", err)
	} else {
		defer unsubscribe()
	}
	if rc.Flush() != nil {
		return
	}
	ticker := time.NewTicker(followRecheck)
	defer ticker.Stop()
	for {
		ended := isDone(done)
		n, err := io.Copy(w, f)
		if err != nil {
			return
		}
		if n > 0 && rc.Flush() != nil {
			return
		}
		if ended {
			return
		}
		select {
		case <-wakeup:
		case <-done:
		case <-ticker.C:
		case <-ctx.Done():
			return
		case <-r.ctx.Done():
			return
		}
	}
}

func isDone(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

func parseOffset(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("offset %q is not a byte offset", s)
	}
	return n, nil
}

func isTrue(s string) bool {
	b, err := strconv.ParseBool(s)
	return err == nil && b
}
