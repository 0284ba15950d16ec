package main

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/ferry-ml/ferry/executor"
)

type serveOptions struct {
	ReadyFD int
}

func newServeCommand(g *globalOptions) *cobra.Command {
	var opts serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon on the state directory's socket (ensure starts it)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(cmd.Context(), opts, g)
		},
	}
	cmd.Flags().IntVar(&opts.ReadyFD, "ready-fd", 0, "inherited file descriptor that receives \"ready\" once serving")
	return cmd
}

func runServe(ctx context.Context, opts serveOptions, g *globalOptions) error {
	if err := g.requireStateDir(); err != nil {
		return err
	}
	logger := g.logger()
	log.SetOutput(logger.StandardWriter(&hclog.StandardLoggerOptions{InferLevels: true}))
	log.SetFlags(0)
	cfg := executor.DaemonConfig{StateDir: g.StateDir, Logger: logger, Runs: runsHandler(ctx, g.StateDir, logger)}
	if opts.ReadyFD > 0 {
		cfg.Ready = os.NewFile(uintptr(opts.ReadyFD), "ready")
	}
	if err := executor.RunDaemon(ctx, cfg); err != nil {
		return fmt.Errorf("serve %s: %w", g.StateDir, err)
	}
	return nil
}
