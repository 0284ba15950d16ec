package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/ferry-ml/ferry/executor"
)

type serveOptions struct {
	ReadyFD     int
	IdleTimeout string
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
	addIdleTimeoutFlag(cmd, &opts.IdleTimeout)
	return cmd
}

func runServe(ctx context.Context, opts serveOptions, g *globalOptions) error {
	if err := g.requireStateDir(); err != nil {
		return err
	}
	idle, err := parseIdleTimeout(opts.IdleTimeout)
	if err != nil {
		return err
	}
	logger := g.logger()
	log.SetOutput(logger.StandardWriter(&hclog.StandardLoggerOptions{InferLevels: true}))
	log.SetFlags(0)
	var busy func() bool // the runner's, set before serving starts
	cfg := executor.DaemonConfig{StateDir: g.StateDir, Logger: logger, Runs: runsHandler(ctx, g.StateDir, logger, &busy),
		IdleTimeout: idle, Busy: func() bool { return busy != nil && busy() }}
	if opts.ReadyFD > 0 {
		cfg.Ready = os.NewFile(uintptr(opts.ReadyFD), "ready")
	}
	if err := executor.RunDaemon(ctx, cfg); err != nil {
		return fmt.Errorf("serve %s: %w", g.StateDir, err)
	}
	return nil
}

// addIdleTimeoutFlag adds --idle-timeout (serve and ensure).
func addIdleTimeoutFlag(cmd *cobra.Command, v *string) {
	cmd.Flags().StringVar(v, "idle-timeout", os.Getenv("FERRY_EXECUTOR_IDLE_TIMEOUT"),
		fmt.Sprintf("exit after this long with no run going and no client connected, e.g. 10m; 0 never (default %s; env FERRY_EXECUTOR_IDLE_TIMEOUT)", executor.DefaultIdleTimeout))
}

// parseIdleTimeout parses --idle-timeout; "" is the default.
func parseIdleTimeout(s string) (time.Duration, error) {
	if s == "" {
		return executor.DefaultIdleTimeout, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("--idle-timeout %q: want a duration such as 30m, or 0 for never", s)
	}
	return d, nil
}
