package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ferry-ml/ferry/executor"
)

func newEnsureCommand(g *globalOptions) *cobra.Command {
	var idle string
	cmd := &cobra.Command{
		Use:   "ensure",
		Short: "Start the daemon unless one of this exact version serves the state directory",
		Long: `ensure makes sure a daemon of exactly this build serves the state directory,
replacing one of another version (its runs go on), and prints one line:
FERRY-EXECUTOR <protocol> <version> <socket> [empty], "empty" when the store
holds no blob and no snapshot. Diagnostics go to stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runEnsure(cmd.Context(), g, idle)
		},
	}
	addIdleTimeoutFlag(cmd, &idle)
	return cmd
}

func runEnsure(ctx context.Context, g *globalOptions, idle string) error {
	if err := g.requireStateDir(); err != nil {
		return err
	}
	if _, err := parseIdleTimeout(idle); err != nil {
		return err
	}
	return ensureWith(ctx, g, "", idle)
}

// ensureWith runs Ensure with exe ("": this executable) as the daemon and
// prints its protocol line.
func ensureWith(ctx context.Context, g *globalOptions, exe, idle string) error {
	res, err := executor.Ensure(ctx, executor.EnsureConfig{StateDir: g.StateDir, Executable: exe, Logger: g.logger(), IdleTimeout: idle})
	if err != nil {
		return fmt.Errorf("ensure executor: %w", err)
	}
	_, err = os.Stdout.WriteString(res.ProtocolLine())
	return err
}
