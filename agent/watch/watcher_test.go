package watch

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/fsnotify/fsnotify"
	"github.com/hashicorp/go-hclog"
)

func newTestWatcher(t *testing.T, tree testutil.Tree, opts WatcherOptions) (*Watcher, string, chan struct{}) {
	t.Helper()
	root := t.TempDir()
	testutil.WriteTree(t, root, tree)
	opts.Logger = hclog.New(&hclog.LoggerOptions{Output: t.Output(), Level: hclog.Debug})
	opts.Quiet = 20 * time.Millisecond
	w, err := NewWatcher(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	trigger := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, trigger) }()
	t.Cleanup(func() { cancel(); <-done })
	return w, root, trigger
}

func waitTrigger(t *testing.T, trigger <-chan struct{}, want bool, why string) {
	t.Helper()
	select {
	case <-trigger:
		if !want {
			t.Fatalf("%s: unexpected trigger", why)
		}
	case <-time.After(300 * time.Millisecond):
		if want {
			t.Fatalf("%s: no trigger", why)
		}
	}
}

func TestWatcherFiltersAndFollowsNewDirectories(t *testing.T) {
	_, root, trigger := newTestWatcher(t, testutil.Tree{"a.py": "a", ".gitignore": "*.log\nout/\n", "out/x": "x"}, WatcherOptions{})
	steps := []struct {
		name string
		do   func()
		want bool
	}{
		{"ignored file", func() { os.WriteFile(filepath.Join(root, "x.log"), nil, 0o644) }, false},
		{"file in ignored dir", func() { os.WriteFile(filepath.Join(root, "out", "y"), nil, 0o644) }, false},
		{"vim swap", func() { os.WriteFile(filepath.Join(root, ".a.py.swp"), nil, 0o644) }, false},
		{"included file", func() { os.WriteFile(filepath.Join(root, "a.py"), []byte("b"), 0o644) }, true},
		{"new dir", func() { os.MkdirAll(filepath.Join(root, "n", "m"), 0o755) }, true},
		{"file in new nested dir", func() { os.WriteFile(filepath.Join(root, "n", "m", "f"), nil, 0o644) }, true},
		{"ignore file change", func() { os.WriteFile(filepath.Join(root, ".gitignore"), []byte("*.log\n"), 0o644) }, true},
		{"file in dir no longer ignored", func() { os.WriteFile(filepath.Join(root, "out", "z"), nil, 0o644) }, true},
		{"renamed dir, file inside", func() {
			os.Rename(filepath.Join(root, "n"), filepath.Join(root, "n2"))
			<-trigger
			os.WriteFile(filepath.Join(root, "n2", "m", "g"), nil, 0o644)
		}, true},
	}
	for _, s := range steps {
		s.do()
		waitTrigger(t, trigger, s.want, s.name)
	}
}

func TestWatcherFallsBackToPollingAtWatchLimit(t *testing.T) {
	var notices []string
	opts := WatcherOptions{
		PollInterval: 50 * time.Millisecond,
		Notice:       func(msg string) { notices = append(notices, msg) },
		addWatch:     func(*fsnotify.Watcher, string) error { return syscall.ENOSPC },
	}
	w, _, trigger := newTestWatcher(t, testutil.Tree{"a.py": "a"}, opts)
	if !w.Polling() || len(notices) != 1 {
		t.Fatalf("polling %v, notices %q; want polling and one notice", w.Polling(), notices)
	}
	waitTrigger(t, trigger, true, "poll tick")
}

func TestWatcherReportsVanishedRoot(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(root, "src")
	testutil.WriteTree(t, src, testutil.Tree{"a.py": "a"})
	w, err := NewWatcher(src, WatcherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	done := make(chan error, 1)
	go func() { done <- w.Run(t.Context(), make(chan struct{}, 1)) }()
	if err := os.Rename(src, filepath.Join(root, "elsewhere")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != ErrSourceGone {
			t.Fatalf("Run = %v, want ErrSourceGone", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not notice the root was moved away")
	}
}

// A source directory given through a symlink is watched too.
func TestWatcherFollowsSymlinkedRoot(t *testing.T) {
	real := t.TempDir()
	testutil.WriteTree(t, real, testutil.Tree{"a.py": "a", "sub/b.py": "b"})
	link := filepath.Join(t.TempDir(), "src")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	w, err := NewWatcher(link, WatcherOptions{Quiet: 20 * time.Millisecond, Logger: hclog.New(&hclog.LoggerOptions{Output: t.Output(), Level: hclog.Debug})})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	trigger := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, trigger) }()
	defer func() { cancel(); <-done }()
	os.WriteFile(filepath.Join(link, "sub", "b.py"), []byte("b2"), 0o644)
	waitTrigger(t, trigger, true, "a change under a symlinked root")
}
