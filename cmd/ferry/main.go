// Command ferry runs machine-learning training code on machines reachable
// over SSH: it snapshots the source directory, uploads only changed content,
// starts the run in the executor daemon on the target and streams its logs.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/docker/go-units"
	"github.com/ferry-ml/ferry/internal/buildinfo"
	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"
)

func main() {
	if os.Getenv("GOGC") == "" {
		// A command is short-lived: collect garbage at 5x the live heap, not
		// 2x. A warm snapshot of the standard tree (about 11 MB allocated)
		// then runs no collection at all: 25% less user CPU (BENCHMARKS.md).
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cmd, err := newRootCommand().ExecuteContextC(ctx)
	stop()
	os.Exit(exitCode(err, cmd, os.Stderr))
}

// globalOptions are the flags every command shares.
type globalOptions struct {
	LogLevel string
	LogJSON  bool
	Home     string
	// MaxOutputSize is the --max-output-size text; maxOutput its bytes.
	MaxOutputSize string
	// KeeperIdle is the --keeper-idle text; keeperIdle its duration.
	KeeperIdle string
	// ExecutorIdleTimeout is --executor-idle-timeout ("": the default).
	ExecutorIdleTimeout string

	noKeeper   bool
	keeperIdle time.Duration

	logger       hclog.Logger
	maxOutput    int64
	maxOutputSet bool // given on the command line: download fetches again
}

func newRootCommand() *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "ferry",
		Short: "Run training code on any machine you can reach over SSH",
		Long: `ferry snapshots your source directory, uploads only what changed, runs the
script on a compute target (this machine, or any SSH host you attach) and
streams its logs back. Runs survive dropped connections.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			g.maxOutputSet = cmd.Flags().Changed("max-output-size")
			return g.init()
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.Version = buildinfo.Version
	root.SetVersionTemplate(versionLine() + "\n")
	f := root.PersistentFlags()
	f.StringVar(&g.LogLevel, "log-level", envOr("FERRY_LOG_LEVEL", "warn"), "diagnostics level: trace, debug, info, warn, error (env FERRY_LOG_LEVEL)")
	f.BoolVar(&g.LogJSON, "log-json", os.Getenv("FERRY_LOG_JSON") != "", "write diagnostics as JSON (env FERRY_LOG_JSON)")
	f.StringVar(&g.ExecutorIdleTimeout, "executor-idle-timeout", os.Getenv("FERRY_EXECUTOR_IDLE_TIMEOUT"),
		"an executor ferry starts exits after this long with no run going and no client, e.g. 2h; 0 never (default 30m; env FERRY_EXECUTOR_IDLE_TIMEOUT)")
	f.StringVar(&g.MaxOutputSize, "max-output-size", envOr("FERRY_MAX_OUTPUT_SIZE", "10GiB"), "bring back at most this much of a run's outputs/; larger files stay on the target, listed (0: no cap; env FERRY_MAX_OUTPUT_SIZE)")
	f.BoolVar(&g.noKeeper, "no-keeper", os.Getenv("FERRY_NO_KEEPER") != "", "open a new SSH connection in this command instead of using the keeper's (env FERRY_NO_KEEPER)")
	f.StringVar(&g.KeeperIdle, "keeper-idle", envOr("FERRY_KEEPER_IDLE", "10m"), "a keeper this command starts exits after this long unused (env FERRY_KEEPER_IDLE)")
	root.AddCommand(
		newKeeperCommand(g),
		newRunCommand(g),
		newRerunCommand(g),
		newWatchCommand(g),
		newRunsCommand(g),
		newShowCommand(g),
		newLogsCommand(g),
		newCancelCommand(g),
		newDownloadCommand(g),
		newSnapshotCommand(g),
		newSyncCommand(g),
		newComputeCommand(g),
		newVersionCommand(g),
		newEnvCommand(g),
		newRunconfigCommand(g),
		newUICommand(g),
	)
	usageArgs(root)
	registerCompletions(root)
	return root
}

// newLogger is ferry's one root logger: JSON with --log-json, else lines
// in ferry's own format (logformat.go).
func newLogger(level string, asJSON bool, w io.Writer) hclog.Logger {
	opts := &hclog.LoggerOptions{Name: "ferry", Level: hclog.LevelFromString(level), Output: w, JSONFormat: asJSON}
	if !asJSON {
		opts.DisableTime, opts.Output = true, &logWriter{w: w}
	}
	return hclog.New(opts)
}

func (g *globalOptions) init() error {
	g.logger = newLogger(g.LogLevel, g.LogJSON, os.Stderr)
	log.SetOutput(g.logger.StandardWriter(&hclog.StandardLoggerOptions{InferLevels: true}))
	home, err := ferryHome()
	if err != nil {
		return err
	}
	g.Home = home
	n, err := units.RAMInBytes(g.MaxOutputSize)
	if err != nil || n < 0 {
		return usageError{fmt.Errorf("--max-output-size %q: want a size such as 500MiB or 10GiB", g.MaxOutputSize)}
	}
	g.maxOutput = n
	if t := g.ExecutorIdleTimeout; t != "" {
		if d, err := time.ParseDuration(t); err != nil || d < 0 {
			return usageError{fmt.Errorf("--executor-idle-timeout %q: want a duration such as 30m or 2h, or 0 for never", t)}
		}
	}
	g.keeperIdle, err = parseKeeperIdle(g.KeeperIdle)
	return err
}

// ferryHome returns FERRY_HOME, or ~/.ferry, absolute: the keeper a
// command starts runs in "/", and must find the same home.
func ferryHome() (string, error) {
	if h := os.Getenv("FERRY_HOME"); h != "" {
		abs, err := filepath.Abs(h)
		if err != nil {
			return "", &UserError{Msg: fmt.Sprintf("FERRY_HOME %q: %v", h, err), Hint: "set FERRY_HOME to an absolute path"}
		}
		return abs, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", &UserError{Msg: "cannot find your home directory", Hint: "set FERRY_HOME to a directory ferry may use", Err: err}
	}
	return home + "/.ferry", nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// contextOf returns the command's context (never nil).
func contextOf(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}
