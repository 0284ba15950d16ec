package agent

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/hashicorp/go-hclog"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// TestHistoryDiskFullIsReported: the history sits on a tiny file system
// that fills up once the run is recorded Queued. The run goes on (it is on
// the target), but Launch and Finish say the history could not record it,
// with the disk's error, instead of leaving it Queued in silence.
func TestHistoryDiskFullIsReported(t *testing.T) {
	l := newLifecycle(t)
	dir := testutil.TinyFS(t, 2<<20)
	hist, err := history.Open(filepath.Join(dir, "history.db"), hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hist.Close() })
	l.runner.History = hist
	f := newFake("epoch 1\n", ended(api.StatusCompleted, 0))
	fill := func(ctx context.Context) (Remote, error) {
		fillDisk(t, dir)
		return f, nil
	}
	_, run, err := l.runner.Launch(t.Context(), fill, l.plan, l.m, nil)
	var recErr *RecordError
	if !errors.As(err, &recErr) || !errors.Is(err, syscall.ENOSPC) && !isSQLiteFull(err) {
		t.Fatalf("Launch on a full disk: %v, want a *RecordError for the full disk", err)
	}
	if run.Status != api.StatusRunning || len(f.submitted) != 1 {
		t.Fatalf("run %s, %d submitted; want it running on the target", run.Status, len(f.submitted))
	}
	var out bytes.Buffer
	run, err = l.runner.Follow(t.Context(), f, l.plan.ID, 0, &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	fin := l.runner.Finish(t.Context(), f, run)
	if !errors.As(fin.RecordErr, &recErr) || recErr.Status != api.StatusCompleted {
		t.Fatalf("Finish on a full disk: RecordErr %v, want a *RecordError saying Completed", fin.RecordErr)
	}
}

// fillDisk writes to dir until it is full.
func fillDisk(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	for n := 4096; n > 0; n /= 2 {
		for {
			if _, err := f.Write(buf[:n]); err != nil {
				break
			}
		}
	}
}

// isSQLiteFull reports SQLite's SQLITE_FULL ("database or disk is full").
func isSQLiteFull(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL
}
