package main

import (
	"context"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/ui"
	"github.com/spf13/cobra"
)

func newCancelCommand(g *globalOptions) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "cancel RUN",
		Short: "Stop a run (SIGTERM to all its processes, SIGKILL after a grace period)",
		Long: `Stop a run: SIGTERM to all its processes, SIGKILL after a grace period.
The run ends Canceled, with no exit code of its own; 'ferry logs -f RUN' (and
the 'ferry run' that started it) then exits with status 143.`,
		Args: exactArgs(1, "RUN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCancel(contextOf(cmd), g, args[0], ui.New(jsonOut))
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, `print JSON: {"id", "status", "canceled": false when it had already ended}`)
	return cmd
}

func runCancel(ctx context.Context, g *globalOptions, id string, p *ui.Printer) error {
	hist, rec, conn, err := openRunConn(ctx, g, id)
	if err != nil {
		return err
	}
	defer hist.Close()
	defer conn.Close()
	r, err := conn.Run(ctx, rec.ID)
	ended := err == nil && r.Status.Terminal()
	if !ended {
		if r, err = conn.Cancel(ctx, rec.ID); err != nil {
			return err
		}
		ended = r.Status.Terminal() && r.Status != api.StatusCanceled
	}
	if err := hist.ApplyRun(ctx, r); err != nil {
		return err
	}
	if r.Status.Terminal() {
		keepEnded(ctx, g, hist, conn, rec)
	}
	switch {
	case p.JSON:
		return p.PrintJSON(map[string]any{"id": rec.ID, "status": r.Status, "canceled": !ended})
	case ended:
		p.Printf("run %s had already ended: %s\n", rec.ID, r.Status)
	default:
		p.Printf("canceling run %s (ferry logs -f %s shows the end)\n", rec.ID, rec.ID)
	}
	return nil
}
