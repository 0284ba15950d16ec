package main

import (
	"context"
	"fmt"
	"github.com/ferry-ml/ferry/agent"
	"path/filepath"

	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/agent/outputs"
	"github.com/ferry-ml/ferry/internal/ui"
	"github.com/spf13/cobra"
)

func newDownloadCommand(g *globalOptions) *cobra.Command {
	var to string
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "download RUN [--to DIR]",
		Short: "Write a run's outputs/ to a directory (default ./outputs/RUN)",
		Long: `Write a run's outputs/ to a directory (default ./outputs/RUN). Outputs
arrive when the run ends: a run that is still going is refused (exit status 1)
with the command that waits for it.`,
		Args: exactArgs(1, "RUN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDownload(contextOf(cmd), g, args[0], to, ui.New(jsonOut))
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "destination directory (default ./outputs/RUN)")
	cmd.Flags().BoolVar(&jsonOut, "json", false, `print JSON: {"id", "dir", "files"}`)
	return cmd
}

func runDownload(ctx context.Context, g *globalOptions, id, to string, p *ui.Printer) error {
	hist, rec, err := openRun(ctx, g, id)
	if err != nil {
		return err
	}
	defer hist.Close()
	store, err := outputs.Open(filepath.Join(g.Home, "blobs"))
	if err != nil {
		return err
	}
	if !rec.Status.Terminal() || rec.Outputs == nil || len(store.Missing(rec.Outputs)) > 0 || g.maxOutputSet {
		if rec, err = fetchRunOutputs(ctx, g, hist, store, rec); err != nil {
			return err
		}
	}
	if to == "" {
		to = filepath.Join("outputs", rec.ID)
	}
	if err := store.Materialize(rec.Outputs, to); err != nil {
		return fmt.Errorf("write outputs to %s: %w", to, err)
	}
	hist.SetOutputs(ctx, rec.ID, to, rec.Outputs)
	if p.JSON {
		return p.PrintJSON(map[string]any{"id": rec.ID, "dir": to, "files": len(rec.Outputs)})
	}
	p.Printf("wrote %s of run %s to %s\n", countFiles(len(rec.Outputs)), rec.ID, to)
	return nil
}

// fetchRunOutputs brings the outputs of rec's run from its target into
// store, once the run has ended there; it returns the updated record.
func fetchRunOutputs(ctx context.Context, g *globalOptions, hist *history.Store, store *outputs.Store, rec history.Record) (history.Record, error) {
	conn, err := g.connect(ctx, rec.Compute)
	if err != nil {
		return rec, err
	}
	defer conn.Close()
	r, err := conn.Run(ctx, rec.ID)
	if err != nil {
		return rec, err
	}
	if !r.Status.Terminal() {
		if err := hist.ApplyRun(ctx, r); err != nil {
			return rec, err
		}
		return rec, &UserError{Msg: fmt.Sprintf("run %s is %s: its outputs arrive when it ends", rec.ID, r.Status),
			Hint: fmt.Sprintf("'ferry logs -f %s' waits for the end; then 'ferry download %s'", rec.ID, rec.ID)}
	}
	got, err := conn.FetchOutputs(ctx, rec.ID, store, g.maxOutput)
	if err != nil {
		return rec, err
	}
	noteSkipped(g, ui.New(false), rec.ID, got)
	if err := hist.ApplyRun(ctx, r); err != nil {
		return rec, err
	}
	keepEnded(ctx, g, hist, conn, rec)
	rec.Outputs = got.Files
	return rec, hist.SetOutputs(ctx, rec.ID, "", got.Files)
}

// keepEnded keeps the log and metrics of rec's run, seen ended on conn,
// unless the history has them already.
func keepEnded(ctx context.Context, g *globalOptions, hist *history.Store, conn *agent.Conn, rec history.Record) {
	if rec.Status.Terminal() && hist.HasLog(rec.ID) && hist.HasMetrics(rec.ID) {
		return
	}
	(&agent.Runner{History: hist, Logger: g.logger}).KeepEnded(ctx, conn, rec.ID)
}
