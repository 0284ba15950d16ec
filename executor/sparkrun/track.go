package sparkrun

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/ferry-ml/ferry/spark"
)

// Timing of the tracker; variables so that tests can shorten them.
var (
	// pollInterval is the pause between two `yarn application -status`.
	pollInterval = time.Second
	// killTimeout bounds `yarn application -kill` and its retries (inside
	// the shim's grace for the tracker, a minute), killRetryInterval apart.
	killTimeout       = 30 * time.Second
	killRetryInterval = 500 * time.Millisecond
	// logsRetries is how often `yarn logs` is asked again while log
	// aggregation has not completed, logsInterval apart.
	logsRetries  = 10
	logsInterval = 2 * time.Second
)

// exitCanceled is the tracker's exit code once it was asked to stop.
const exitCanceled = 143

// tracker follows one run; its output goes to the run's log.
type tracker struct {
	plan   Plan
	out    io.Writer // the run's log (stdout)
	errOut io.Writer // the run's log (stderr)

	mu       sync.Mutex
	app      string // application id, once spark-submit printed it
	canceled bool
	killed   bool
}

// Track is "ferry-executor spark-track --plan FILE" (args after
// "spark-track"): it runs and follows the plan's spark-submit and returns
// the run's exit code (see the package documentation).
func Track(args []string) int {
	fs := flag.NewFlagSet("spark-track", flag.ContinueOnError)
	planPath := fs.String("plan", "", "the run's spark plan (JSON)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	plan, err := readPlan(*planPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferry: %v\n", err)
		return 1
	}
	t := &tracker{plan: plan, out: os.Stdout, errOut: os.Stderr}
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(signals)
	return t.run(signals)
}

// run submits, follows and finishes the run.
func (t *tracker) run(signals <-chan os.Signal) int {
	if t.plan.Mode == spark.ModeCluster {
		if err := t.hadoop(context.Background(), "hdfs", "dfs", "-mkdir", "-p", t.plan.OutputsDFS); err != nil {
			t.say("create FERRY_OUTPUTS_DIR %s on the default file system: %v", t.plan.OutputsDFS, err)
			return 1
		}
	}
	code, err := t.submit(signals)
	if err != nil {
		t.say("%v", err)
		return 1
	}
	if t.isCanceled() {
		return exitCanceled
	}
	if t.plan.Mode == spark.ModeClient {
		t.killIfRunning()
		return code
	}
	return t.finishCluster(code, signals)
}

// submit runs spark-submit to its end, killing the application on SIGTERM.
func (t *tracker) submit(signals <-chan os.Signal) (int, error) {
	cmd := exec.Command(t.plan.Argv[0], t.plan.Argv[1:]...)
	cmd.Dir, cmd.Stdout, cmd.Stdin = t.plan.Dir, t.out, nil
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return 0, fmt.Errorf("start spark-submit: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start spark-submit: %w", err)
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		t.scanStderr(stderr)
	}()
	waited := make(chan error, 1)
	go func() {
		<-copied // Wait closes the pipe: read it all first
		waited <- cmd.Wait()
	}()
	for {
		select {
		case sig := <-signals:
			t.cancel(sig)
		case err := <-waited:
			t.lateSignal(signals, err)
			return exitCode(err), nil
		}
	}
}

// scanStderr copies spark-submit's stderr to the log, line by line, and
// records the first application id it names.
func (t *tracker) scanStderr(r io.Reader) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			_, _ = io.WriteString(t.errOut, line)
			if id := spark.FindApplicationID(line); id != "" {
				t.setApp(id)
			}
		}
		if err != nil {
			return
		}
	}
}

// lateSignal catches a SIGTERM that raced spark-submit's own death by the
// same signal (the shim signals the whole group): a spark-submit killed by
// a signal, or a JVM exiting 143 or 130, counts as canceled once the signal
// shows up.
func (t *tracker) lateSignal(signals <-chan os.Signal, err error) {
	code, signaled := exitCode(err), false
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			signaled = true
		}
	}
	if t.isCanceled() || !(signaled || code == 143 || code == 130) {
		return
	}
	select {
	case sig := <-signals:
		t.cancel(sig)
	case <-time.After(500 * time.Millisecond):
	}
}

// cancel records the request and kills the application, if there is one.
func (t *tracker) cancel(sig os.Signal) {
	t.mu.Lock()
	t.canceled = true
	t.mu.Unlock()
	t.say("cancel requested (%v)", sig)
	t.kill()
}

// kill runs `yarn application -kill` once an application id is known, and
// again while it fails, for killTimeout in all: one slow or failed answer
// from the ResourceManager must not leave the application running on the
// cluster after the run was canceled. (A successful -kill returns once
// YARN completed the kill; for an application that already ended it says
// so and succeeds.)
func (t *tracker) kill() {
	t.mu.Lock()
	app, done := t.app, t.killed
	t.killed = t.killed || app != ""
	t.mu.Unlock()
	if app == "" || done {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	for {
		err := t.hadoop(ctx, "yarn", "application", "-kill", app)
		if err == nil {
			t.say("killed YARN application %s", app)
			return
		}
		select {
		case <-ctx.Done():
			t.say("yarn application -kill %s: %v; gave up after %s: the application may still be running (yarn application -status %s)", app, err, killTimeout, app)
			return
		case <-time.After(killRetryInterval):
			t.say("yarn application -kill %s: %v; trying again", app, err)
		}
	}
}

// killIfRunning kills a client-mode application the driver left behind.
func (t *tracker) killIfRunning() {
	app := t.appID()
	if app == "" {
		return
	}
	if rep, err := t.status(context.Background(), app); err == nil && !rep.Ended() {
		t.kill()
	}
}

// setApp records the application id; a cancel that came before it kills
// the application now.
func (t *tracker) setApp(id string) {
	t.mu.Lock()
	first := t.app == ""
	if first {
		t.app = id
	}
	canceled := t.canceled
	t.mu.Unlock()
	if first && canceled {
		t.kill()
	}
}

func (t *tracker) appID() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.app
}

func (t *tracker) isCanceled() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.canceled
}

// say writes one "ferry: ..." line to the run's log.
func (t *tracker) say(format string, args ...any) {
	fmt.Fprintf(t.errOut, "ferry: "+format+"\n", args...)
}

// exitCode maps cmd.Wait's error to an exit code (128+signal if killed).
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return 1
}
