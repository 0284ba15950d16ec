package main

import (
	"fmt"
	"runtime"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/buildinfo"
	"github.com/ferry-ml/ferry/internal/ui"
	"github.com/spf13/cobra"
)

type versionOptions struct{ JSON bool }

func newVersionCommand(g *globalOptions) *cobra.Command {
	var opts versionOptions
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print ferry's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVersion(opts, ui.New(opts.JSON))
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func runVersion(opts versionOptions, p *ui.Printer) error {
	if opts.JSON {
		return p.PrintJSON(map[string]any{
			"version": buildinfo.Version, "build": buildinfo.BuildID,
			"protocol": api.ProtocolVersion, "go": runtime.Version(),
			"os": runtime.GOOS, "arch": runtime.GOARCH,
		})
	}
	p.Printf("%s\n", versionLine())
	return nil
}

// versionLine is the one line `ferry version` and `ferry --version` print.
func versionLine() string {
	return fmt.Sprintf("ferry %s (build %s, protocol %d, %s %s/%s)", buildinfo.Version, buildinfo.BuildID,
		api.ProtocolVersion, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
