package sparkrun

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/spark"
)

// finishCluster follows a cluster-mode application to its end, brings its
// logs and outputs here and returns the run's exit code.
func (t *tracker) finishCluster(submitCode int, signals <-chan os.Signal) int {
	app := t.appID()
	if app == "" {
		t.say("spark-submit exited with status %d before naming a YARN application", submitCode)
		return max(submitCode, 1)
	}
	rep, canceled := t.await(app, signals)
	if canceled {
		return exitCanceled
	}
	t.say("YARN application %s ended: state %s, final status %s%s", app, rep.State, rep.FinalState, diagnostics(rep))
	t.appendLogs(app)
	t.fetchOutputs()
	t.fetchMetrics()
	return rep.ExitCode()
}

// await polls `yarn application -status` until the application ended.
func (t *tracker) await(app string, signals <-chan os.Signal) (spark.Report, bool) {
	for {
		rep, err := t.status(context.Background(), app)
		if err == nil && rep.Ended() {
			return rep, false
		}
		if err != nil {
			t.say("yarn application -status %s: %v", app, err)
		}
		select {
		case sig := <-signals:
			t.cancel(sig)
			return rep, true
		case <-time.After(pollInterval):
		}
	}
}

// status asks YARN for the application's report.
func (t *tracker) status(ctx context.Context, app string) (spark.Report, error) {
	out, err := t.output(ctx, "yarn", "application", "-status", app)
	if err != nil {
		return spark.Report{}, err
	}
	rep := spark.ParseReport(out)
	if rep.State == "" {
		return rep, fmt.Errorf("no State in the application report")
	}
	return rep, nil
}

// appendLogs copies `yarn logs -applicationId` (the driver's and the
// executors' output) into the run's log, asking again while YARN is still
// aggregating them.
func (t *tracker) appendLogs(app string) {
	var out []byte
	var err error
	for i := 0; i < logsRetries; i++ {
		if out, err = t.output(context.Background(), "yarn", "logs", "-applicationId", app); err == nil {
			break
		}
		time.Sleep(logsInterval)
	}
	if err != nil {
		t.say("yarn logs -applicationId %s: %v", app, err)
		return
	}
	t.say("logs of YARN application %s (yarn logs -applicationId %s):", app, app)
	_, _ = t.out.Write(out)
}

// fetchOutputs copies FERRY_OUTPUTS_DIR from the default file system into
// the run's outputs/ (through a fresh folder beside it: nothing is
// written outside the run directory).
func (t *tracker) fetchOutputs() {
	tmp := filepath.Join(t.plan.Dir, "outputs.fetch")
	_ = os.RemoveAll(tmp)
	if err := t.hadoop(context.Background(), "hdfs", "dfs", "-get", t.plan.OutputsDFS, tmp); err != nil {
		t.say("fetch outputs from %s: %v", t.plan.OutputsDFS, err)
		return
	}
	ents, err := os.ReadDir(tmp)
	if err != nil {
		t.say("fetch outputs: %v", err)
		return
	}
	for _, e := range ents {
		if err := os.Rename(filepath.Join(tmp, e.Name()), filepath.Join(t.plan.Outputs, e.Name())); err != nil {
			t.say("fetch outputs: %v", err)
		}
	}
	_ = os.RemoveAll(tmp)
}

// fetchMetrics appends the metrics the driver logged (EntryPoint copies
// them next to FERRY_OUTPUTS_DIR) to the run's metrics file.
func (t *tracker) fetchMetrics() {
	src := spark.MetricsPath(t.plan.OutputsDFS)
	if t.plan.Metrics == "" || t.hadoop(context.Background(), "hdfs", "dfs", "-test", "-e", src) != nil {
		return
	}
	data, err := t.output(context.Background(), "hdfs", "dfs", "-cat", src)
	if err != nil {
		t.say("fetch metrics from %s: %v", src, err)
		return
	}
	f, err := os.OpenFile(t.plan.Metrics, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.say("fetch metrics: %v", err)
		return
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.say("fetch metrics: %v", err)
	}
}

// hadoop runs a yarn or hdfs command; its output goes to the log only when
// it fails.
func (t *tracker) hadoop(ctx context.Context, argv ...string) error {
	_, err := t.output(ctx, argv...)
	return err
}

// output runs argv and returns its stdout; a failure carries the tail of
// its output.
func (t *tracker) output(ctx context.Context, argv ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = t.plan.Dir, &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tail := strings.TrimSpace(stdout.String() + stderr.String())
		if len(tail) > 2048 {
			tail = tail[len(tail)-2048:]
		}
		return nil, fmt.Errorf("%w (output: %s)", err, tail)
	}
	return stdout.Bytes(), nil
}

func diagnostics(rep spark.Report) string {
	if rep.Diagnostics == "" {
		return ""
	}
	return " (" + rep.Diagnostics + ")"
}
