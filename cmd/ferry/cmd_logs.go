package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/ui"
	"github.com/spf13/cobra"
)

type logsOptions struct {
	Follow   bool
	JSON     bool
	Rank     int
	AllRanks bool
}

func newLogsCommand(g *globalOptions) *cobra.Command {
	var opts logsOptions
	cmd := &cobra.Command{
		Use:   "logs RUN [--follow]",
		Short: "Print a run's log; with --follow, stream it until the run ends",
		Long: `Print a run's log (the script's stdout and stderr, merged in order). With
--follow, keep streaming as the run writes, then exit with the run's status
(the script's own; 143 for a canceled run). Ctrl-C stops following (exit
130); the run goes on.

A finished run's log is kept, compressed, in the local history: it is read
from there, with no connection, also once the target is gone.

--json prints JSON lines: {"line": TEXT} for each line of the log, then
{"id", "status", "exit_code"} with the run's status at the end.

A multi-process run (on a slurm target) keeps every rank's log: rank 0's is
shown by default, --rank N picks another, and --all-ranks merges them line by
line, each line prefixed "[rank N]" (both read from the target).`,
		Args: exactArgs(1, "RUN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.AllRanks || opts.Rank >= 0 {
				return runRankLogs(contextOf(cmd), g, args[0], opts)
			}
			return runLogs(contextOf(cmd), g, args[0], opts)
		},
	}
	opts.Rank = -1
	cmd.Flags().IntVar(&opts.Rank, "rank", -1, "the log of this rank of a multi-process run (default 0)")
	cmd.Flags().BoolVar(&opts.AllRanks, "all-ranks", false, `every rank's log, merged by line, each line prefixed "[rank N]"`)
	cmd.Flags().BoolVarP(&opts.Follow, "follow", "f", false, "stream the log until the run ends")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON lines, the run's status last")
	return cmd
}

func runLogs(ctx context.Context, g *globalOptions, id string, opts logsOptions) error {
	hist, rec, err := openRun(ctx, g, id)
	if err != nil {
		return err
	}
	defer hist.Close()
	if !opts.JSON {
		return printLog(ctx, g, hist, rec, opts.Follow, os.Stdout)
	}
	jl := &jsonLines{enc: json.NewEncoder(os.Stdout)}
	err = printLog(ctx, g, hist, rec, opts.Follow, jl)
	jl.flush()
	if fresh, gerr := hist.Get(context.WithoutCancel(ctx), rec.ID); gerr == nil {
		rec = fresh
	}
	jl.enc.Encode(map[string]any{"id": rec.ID, "status": rec.Status, "exit_code": rec.ExitCode})
	return err
}

// printLog writes rec's log to out: from the local history when it holds
// the log of the finished run, else from the target (following it to its
// end with follow).
func printLog(ctx context.Context, g *globalOptions, hist *history.Store, rec history.Record, follow bool, out io.Writer) error {
	if rec.Status.Terminal() {
		if local, err := hist.OpenLog(rec.ID); err == nil {
			defer local.Close()
			if _, err := io.Copy(out, local); err != nil {
				return fmt.Errorf("read log of run %s: %w", rec.ID, err)
			}
			if follow {
				return runExit(api.Run{Status: rec.Status, ExitCode: rec.ExitCode})
			}
			return nil
		}
	}
	conn, err := g.connect(ctx, rec.Compute)
	if err != nil {
		return err
	}
	defer conn.Close()
	if !follow {
		return conn.ReadLog(ctx, rec.ID, 0, out)
	}
	p := &ui.Printer{Out: out, Err: os.Stderr}
	runner, err := g.newRunner(hist, p, runReconnectFor)
	if err != nil {
		return err
	}
	return followRun(ctx, g, runner, conn, p, rec.ID)
}

// jsonLines turns a byte stream into JSON lines {"line": TEXT}, one per
// line of the stream (without its newline).
type jsonLines struct {
	enc     *json.Encoder
	partial []byte
}

func (j *jsonLines) Write(b []byte) (int, error) {
	j.partial = append(j.partial, b...)
	for {
		i := bytes.IndexByte(j.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		if err := j.enc.Encode(map[string]string{"line": string(j.partial[:i])}); err != nil {
			return 0, err
		}
		j.partial = j.partial[i+1:]
	}
}

// flush writes a last line that had no newline.
func (j *jsonLines) flush() {
	if len(j.partial) > 0 {
		j.enc.Encode(map[string]string{"line": string(j.partial)})
		j.partial = nil
	}
}
