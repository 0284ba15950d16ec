// Command ferry-executor is the daemon ferry runs on a compute target. The
// agent starts it over SSH with "ensure", which makes sure one daemon of
// exactly this build serves the state directory, then talks HTTP to its
// unix socket. See package executor for the roles and the state layout.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ferry-ml/ferry/executor/runner"
	"github.com/ferry-ml/ferry/executor/slurm"
	"github.com/ferry-ml/ferry/executor/sparkrun"
	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"
)

func main() {
	// The shim is started once per run and must not pay for cobra's setup
	// or see its flag parsing: dispatch before anything else.
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "shim":
			os.Exit(runShim(os.Args[2:]))
		case "slurm-job":
			os.Exit(slurm.Main(os.Args[2:]))
		case "slurm-task":
			os.Exit(runner.Task(os.Args[2:]))
		}
	}
	if len(os.Args) > 1 && os.Args[1] == runner.SparkTrackCommand {
		os.Exit(sparkrun.Track(os.Args[2:]))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	stop()
	os.Exit(exitCode(err))
}

// globalOptions are the flags every command shares.
type globalOptions struct {
	StateDir string
	LogLevel string
}

func (g *globalOptions) logger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       "ferry-executor",
		Level:      hclog.LevelFromString(g.LogLevel),
		Output:     os.Stderr,
		JSONFormat: true,
	})
}

func newRootCommand() *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:           "ferry-executor",
		Short:         "The ferry daemon on a compute target",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	f := root.PersistentFlags()
	f.StringVar(&g.StateDir, "state-dir", os.Getenv("FERRY_EXECUTOR_STATE_DIR"), "executor state directory (env FERRY_EXECUTOR_STATE_DIR)")
	f.StringVar(&g.LogLevel, "log-level", envOr("FERRY_LOG_LEVEL", "info"), "log level (env FERRY_LOG_LEVEL)")
	root.AddCommand(
		newServeCommand(g),
		newEnsureCommand(g),
		newInstallCommand(g),
		newProxyCommand(g),
		newVersionCommand(),
		&cobra.Command{Use: "shim", Short: "Supervise one run (started by the daemon)", DisableFlagParsing: true},
		&cobra.Command{Use: runner.SparkTrackCommand, Short: "Submit and follow one Spark run (started by a shim)", DisableFlagParsing: true},
		&cobra.Command{Use: "slurm-job", Short: "Submit and follow one slurm run's batch job (started by its shim)", DisableFlagParsing: true},
		&cobra.Command{Use: "slurm-task", Short: "Run one rank of a slurm run (started by srun or mpirun)", DisableFlagParsing: true},
	)
	return root
}

func (g *globalOptions) requireStateDir() error {
	if g.StateDir == "" {
		return usageError{errors.New("--state-dir is required")}
	}
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// usageError marks a command-line mistake (exit status 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitCode prints err once to stderr and maps it to an exit status.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "ferry-executor:", err)
	var ue usageError
	switch {
	case errors.As(err, &ue):
		return 2
	case errors.Is(err, context.Canceled):
		return 130
	default:
		return 1
	}
}
