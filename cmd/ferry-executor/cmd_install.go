package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ferry-ml/ferry/executor"
)

func newInstallCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "install",
		Short: "Move this executable to STATE_DIR/executor/<version>/ and print that path",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInstall(g)
		},
	}
}

func runInstall(g *globalOptions) error {
	if err := g.requireStateDir(); err != nil {
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
	_, err = fmt.Println(dst)
	return err
}
