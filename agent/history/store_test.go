package history

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

func testLogger(t testing.TB) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: t.Output(), Level: hclog.Trace})
}

func openTest(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "home", "history.db")
	s, err := Open(path, testLogger(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, path
}

func pragma(t *testing.T, s *Store, name string) string {
	t.Helper()
	var v string
	if err := s.db.QueryRowContext(t.Context(), "PRAGMA "+name).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOpenCreatesPrivateWAL(t *testing.T) {
	s, path := openTest(t)
	if err := s.Put(t.Context(), testRecord("a_1", time.Unix(1, 0))); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, path + "-wal": 0o600, filepath.Dir(path): 0o700 | os.ModeDir} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s mode = %v, want %v", filepath.Base(p), fi.Mode(), want)
		}
	}
	if got := pragma(t, s, "journal_mode"); got != "wal" {
		t.Errorf("journal_mode = %q, want wal", got)
	}
	if got := pragma(t, s, "busy_timeout"); got != strconv.Itoa(busyTimeoutMS) {
		t.Errorf("busy_timeout = %q, want %d", got, busyTimeoutMS)
	}
	if got := pragma(t, s, "user_version"); got != strconv.Itoa(len(migrations)) {
		t.Errorf("user_version = %q, want %d", got, len(migrations))
	}
}

func TestOpenPathWithQuestionMark(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd ?dir#x", "history.db")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at %s: %v", path, err)
	}
}

func TestReopenKeepsRuns(t *testing.T) {
	s, path := openTest(t)
	ctx := t.Context()
	if err := s.Put(ctx, testRecord("exp_1_aaaaaa", time.Unix(1, 0))); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path, testLogger(t))
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	if _, err := s2.Get(ctx, "exp_1_aaaaaa"); err != nil {
		t.Fatalf("Get after reopen: %v", err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	s, path := openTest(t)
	if _, err := s.db.ExecContext(t.Context(), "PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	if s2, err := Open(path, nil); err == nil {
		s2.Close()
		t.Fatal("Open of a database from a newer ferry = nil error, want a refusal")
	}
}

// TestConcurrentProcesses has several processes write to one database at
// once, as "ferry watch" and "ferry runs" do; none may fail with
// SQLITE_BUSY and every write must land.
func TestConcurrentProcesses(t *testing.T) {
	_, path := openTest(t)
	const procs, perProc = 3, 50
	cmds := make([]*exec.Cmd, procs)
	for i := range cmds {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "FERRY_HISTORY_HELPER="+path,
			"FERRY_HISTORY_HELPER_PREFIX=p"+strconv.Itoa(i), "FERRY_HISTORY_HELPER_N="+strconv.Itoa(perProc))
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM runs").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != procs*perProc {
		t.Fatalf("runs = %d, want %d", n, procs*perProc)
	}
}

// TestMain lets the test binary act as a writer process for
// TestConcurrentProcesses.
func TestMain(m *testing.M) {
	if path := os.Getenv("FERRY_HISTORY_HELPER"); path != "" {
		if err := helperWriter(path); err != nil {
			fmt.Fprintln(os.Stderr, "helper writer:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helperWriter puts and updates FERRY_HISTORY_HELPER_N runs.
func helperWriter(path string) error {
	n, err := strconv.Atoi(os.Getenv("FERRY_HISTORY_HELPER_N"))
	if err != nil {
		return err
	}
	prefix := os.Getenv("FERRY_HISTORY_HELPER_PREFIX")
	s, err := Open(path, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := context.Background()
	for i := range n {
		id := fmt.Sprintf("%s_%d", prefix, i)
		if err := s.Put(ctx, testRecord(id, time.Unix(int64(i), 0))); err != nil {
			return err
		}
		if err := s.ApplyRun(ctx, apiRun(id)); err != nil {
			return err
		}
	}
	return nil
}
