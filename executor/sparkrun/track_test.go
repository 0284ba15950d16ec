package sparkrun

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a log both the tracker and its stderr copier write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeTools writes shell stand-ins for spark-submit, yarn and hdfs into a
// directory put first on PATH; each appends its argv to calls.log.
func fakeTools(t *testing.T, submit, yarn string) string {
	dir := t.TempDir()
	write := func(name, body string) {
		script := "#!/bin/sh\necho \"" + name + " $*\" >>" + filepath.Join(dir, "calls.log") + "\n" + body
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("spark-submit", submit)
	write("yarn", yarn)
	write("hdfs", "exit 0\n")
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	pollInterval, logsInterval = 10*time.Millisecond, 10*time.Millisecond
	return dir
}

func newTracker(t *testing.T, dir, mode string) (*tracker, *syncBuffer) {
	log := &syncBuffer{}
	out := t.TempDir()
	return &tracker{plan: Plan{RunID: "r", Mode: mode, Argv: []string{"spark-submit", "x.py"}, Dir: dir,
		OutputsDFS: "/user/u/.ferry/runs/r/outputs", Outputs: out}, out: log, errOut: log}, log
}

func TestClusterFailureTakesYARNsExitCode(t *testing.T) {
	dir := fakeTools(t,
		"echo 'INFO Client: Submitting application application_17_0001 to ResourceManager' >&2\nexit 1\n",
		`case "$1 $2" in
"application -status") printf 'Application Report : \n\tState : FINISHED\n\tFinal-State : FAILED\n\tDiagnostics : User application exited with status 3\n' ;;
"logs -applicationId") echo "driver said hi" ;;
esac
`)
	tr, log := newTracker(t, dir, "cluster")
	if code := tr.run(make(chan os.Signal)); code != 3 {
		t.Fatalf("exit code %d, want 3; log:\n%s", code, log)
	}
	for _, s := range []string{"final status FAILED", "driver said hi"} {
		if !strings.Contains(log.String(), s) {
			t.Errorf("log lacks %q:\n%s", s, log)
		}
	}
}

func TestCancelKillsTheApplication(t *testing.T) {
	dir := fakeTools(t,
		"echo 'Submitted application application_17_0002' >&2\ntrap 'exit 143' TERM\nwhile :; do sleep 0.05; done\n",
		"exit 0\n")
	tr, log := newTracker(t, dir, "cluster")
	if code := tr.run(cancelOnceSubmitted(tr, dir)); code != exitCanceled {
		t.Fatalf("exit code %d, want %d; log:\n%s", code, exitCanceled, log)
	}
	calls, _ := os.ReadFile(filepath.Join(dir, "calls.log"))
	if !strings.Contains(string(calls), "yarn application -kill application_17_0002") {
		t.Fatalf("no yarn kill:\n%s", calls)
	}
}

func TestCancelKillsAgainWhileYARNFails(t *testing.T) {
	// The stand-in ResourceManager fails the first kill, as a busy or
	// restarting one does; the tracker must ask again.
	dir := fakeTools(t,
		"echo 'Submitted application application_17_0003' >&2\ntrap 'exit 143' TERM\nwhile :; do sleep 0.05; done\n",
		`if [ "$1 $2" = "application -kill" ]; then
	n=$(grep -c 'application -kill' "$(dirname "$0")/calls.log")
	[ "$n" -ge 2 ] || { echo "Failed to connect to ResourceManager" >&2; exit 255; }
	echo "Killing application $3"
fi
`)
	old := killRetryInterval
	killRetryInterval = 10 * time.Millisecond
	t.Cleanup(func() { killRetryInterval = old })
	tr, log := newTracker(t, dir, "cluster")
	if code := tr.run(cancelOnceSubmitted(tr, dir)); code != exitCanceled {
		t.Fatalf("exit code %d, want %d; log:\n%s", code, exitCanceled, log)
	}
	calls, _ := os.ReadFile(filepath.Join(dir, "calls.log"))
	if n := strings.Count(string(calls), "yarn application -kill application_17_0003"); n != 2 {
		t.Errorf("%d kills, want 2 (one failed, one that worked):\n%s", n, calls)
	}
	for _, s := range []string{"Failed to connect to ResourceManager", "trying again", "killed YARN application application_17_0003"} {
		if !strings.Contains(log.String(), s) {
			t.Errorf("log lacks %q:\n%s", s, log)
		}
	}
}

// cancelOnceSubmitted sends SIGTERM, as the shim does on cancel, once the
// tracker knows its application: to the tracker and to spark-submit (the
// shim signals the whole group).
func cancelOnceSubmitted(tr *tracker, dir string) <-chan os.Signal {
	signals := make(chan os.Signal, 1)
	go func() {
		for tr.appID() == "" {
			time.Sleep(10 * time.Millisecond)
		}
		signals <- syscall.SIGTERM
		_ = exec.Command("pkill", "-TERM", "-f", filepath.Join(dir, "spark-submit")).Run()
	}()
	return signals
}
