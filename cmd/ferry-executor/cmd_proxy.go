package main

import (
	"context"
	"os"

	"github.com/spf13/cobra"

	"github.com/ferry-ml/ferry/executor"
)

func newProxyCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "proxy",
		Short: "Copy stdin/stdout to and from the daemon's socket",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProxy(cmd.Context(), g)
		},
	}
}

func runProxy(ctx context.Context, g *globalOptions) error {
	if err := g.requireStateDir(); err != nil {
		return err
	}
	return executor.Proxy(ctx, g.StateDir, os.Stdin, os.Stdout)
}
