package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/buildinfo"
)

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and protocol",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Printf("%s %s protocol %d\n", "ferry-executor", buildinfo.String(), api.ProtocolVersion)
			return err
		},
	}
}
