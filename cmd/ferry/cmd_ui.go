package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/agent/portal"
	"github.com/ferry-ml/ferry/internal/ui"
	"github.com/spf13/cobra"
)

type uiOptions struct {
	Addr string
}

func newUICommand(g *globalOptions) *cobra.Command {
	var opts uiOptions
	cmd := &cobra.Command{
		Use:   "ui [--addr 127.0.0.1:PORT]",
		Short: "Serve the local web portal: compute targets, runs, live logs, metric charts",
		Long: `Serve ferry's web portal on this machine: compute targets (check them, attach,
detach), the run history (filtered, updating by itself), each run's live log,
details, metric charts and outputs, with cancel and rerun, and a comparison
of 2 to 10 runs.

The first line on stdout is the URL to open. It carries a random access token:
a request without it gets 401. The portal listens on a loopback address only
(port 0 picks a free one); to reach it from another machine, forward the port
with ssh -L. Ctrl-C stops it; runs go on.`,
		Example: `  ferry ui
  ferry ui --addr 127.0.0.1:0          # any free port
  ssh -L 8765:127.0.0.1:8765 laptop    # then open the printed URL elsewhere`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUI(contextOf(cmd), opts, g, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&opts.Addr, "addr", envOr("FERRY_UI_ADDR", portal.DefaultAddr),
		"loopback HOST:PORT to listen on; port 0 picks a free one (env FERRY_UI_ADDR)")
	return cmd
}

func runUI(ctx context.Context, opts uiOptions, g *globalOptions, stdout io.Writer) error {
	ln, err := portal.Listen(opts.Addr)
	if errors.Is(err, portal.ErrNotLoopback) {
		return usageError{err}
	}
	if err != nil {
		return &UserError{Msg: err.Error(), Hint: "pick another port, or --addr 127.0.0.1:0 for any free one"}
	}
	defer ln.Close()
	hist, err := openHistory(g)
	if err != nil {
		return err
	}
	defer hist.Close()
	srv, err := portal.New(portal.Config{Home: g.Home, History: hist, Targets: compute.Open(g.Home),
		Logger: g.logger, Rerun: g.portalRerun(ctx, hist)})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, srv.URL(ln.Addr()))
	ui.New(false).Noticef("ferry ui: serving the portal for %s (Ctrl-C stops it; runs go on)\n", filepath.Clean(g.Home))
	return srv.Serve(ctx, ln)
}
