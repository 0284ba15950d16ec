package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ferry-ml/ferry/executor"
)

func newInstallCommand(g *globalOptions) *cobra.Command {
	var ensure bool
	var idle string
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Move this executable to STATE_DIR/executor/<version>/ and print that path",
		Long: `install moves this executable to STATE_DIR/executor/<version>/ferry-executor
and prints that path. With --ensure it then does what "ensure" does with the
installed binary, in the same process, and prints ensure's line instead
(first contact: one process fewer on the target).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInstall(cmd.Context(), g, ensure, idle)
		},
	}
	cmd.Flags().BoolVar(&ensure, "ensure", false, "start the installed executor's daemon, as ensure does")
	addIdleTimeoutFlag(cmd, &idle)
	return cmd
}

func runInstall(ctx context.Context, g *globalOptions, ensure bool, idle string) error {
	if err := g.requireStateDir(); err != nil {
		return err
	}
	if _, err := parseIdleTimeout(idle); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	dst, err := executor.Install(g.StateDir, exe, g.logger())
	if err != nil {
		return err
	}
	if !ensure {
		_, err = fmt.Println(dst)
		return err
	}
	return ensureWith(ctx, g, dst, idle)
}
