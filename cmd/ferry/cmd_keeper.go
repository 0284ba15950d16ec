package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ferry-ml/ferry/agent/watch"
	"github.com/ferry-ml/ferry/internal/buildinfo"
	"github.com/ferry-ml/ferry/snapshot"
	"github.com/ferry-ml/ferry/transport/keeper"
	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"
)

func newKeeperCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keeper",
		Short: "The per-user process that keeps SSH connections open between commands",
		Long: `Commands that reach an SSH target go through a keeper: a small per-user
process, started by the first such command (or snapshot), that holds one authenticated SSH
connection per target (checked against known_hosts exactly as a command's own)
and exits after --keeper-idle (default 10m) with no command using it. After
a stream to a socket on a target (the executor's) it opens the next one ahead,
kept 20s, so that the next command's first request costs one round trip.
It also watches the source directories that commands snapshot (inotify):
a snapshot of a tree in which nothing changed since the last one reuses it,
with no walk, and one after a few edits reads only the folders they touched. Its socket is FERRY_HOME/keeper/*.sock (folder 0700, socket
0600, peers' uid checked). Turn it off with --no-keeper or FERRY_NO_KEEPER=1:
each command then opens its own connection and walks the source tree.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newKeeperServeCommand(g), &cobra.Command{
		Use:   "stop",
		Short: "Close the keeper's connections and stop it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			err := (&keeper.Client{Socket: keeperSocket(g.Home)}).Stop(contextOf(cmd))
			// No socket, or a dead keeper's: nothing to stop.
			if err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ECONNREFUSED) {
				return err
			}
			return nil
		},
	})
	return cmd
}

func newKeeperServeCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:    "serve",
		Short:  "Run the keeper in the foreground (commands start it themselves)",
		Args:   cobra.NoArgs,
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKeeper(contextOf(cmd), g)
		},
	}
}

func runKeeper(ctx context.Context, g *globalOptions) error {
	sock := keeperSocket(g.Home)
	ln, err := keeper.Listen(sock)
	keeper.Ready(err)
	if errors.Is(err, keeper.ErrRunning) {
		return nil
	}
	if err != nil {
		return err
	}
	defer ln.Close()
	logger, closeLog := keeperLogger(g, filepath.Dir(sock))
	defer closeLog()
	logger.Info("keeper listening", "socket", sock, "idle", g.keeperIdle)
	srv := keeper.NewServer(g.keeperIdle, logger)
	trees := watch.NewTrees(filepath.Dir(sock), 0, logger)
	defer trees.Close()
	srv.SetTrees(keeperTrees{trees})
	return srv.Serve(ctx, ln)
}

// treeChanges returns the snapshot's Options.Tree: the keeper's answer
// for a source tree (agent/watch.Trees), the keeper started if none runs;
// nil with --no-keeper. A keeper that cannot be reached gives no token:
// the snapshot walks, as without one.
func (g *globalOptions) treeChanges(ctx context.Context) func(root, since string) snapshot.TreeChanges {
	k := g.keeperClient()
	if k == nil {
		return nil
	}
	return func(root, since string) snapshot.TreeChanges {
		ctx, cancel := context.WithTimeout(ctx, treeTokenWait)
		defer cancel()
		st, err := k.TreeChanges(ctx, root, since)
		if err != nil {
			g.logger.Debug("no tree token from the keeper", "error", err)
		}
		return snapshot.TreeChanges(st)
	}
}

// keeperTrees serves the keeper's tree requests from the watchers.
type keeperTrees struct{ *watch.Trees }

func (t keeperTrees) Changes(root, since string) (keeper.TreeState, error) {
	c, err := t.Trees.Changes(root, since)
	return keeper.TreeState(c), err
}

// treeTokenWait bounds a tree request, a keeper's start included.
const treeTokenWait = 5 * time.Second

// keeperLogger logs to FERRY_HOME/keeper/keeper.log (0600): the keeper has
// no terminal.
func keeperLogger(g *globalOptions, dir string) (hclog.Logger, func()) {
	f, err := os.OpenFile(filepath.Join(dir, "keeper.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return hclog.NewNullLogger(), func() {}
	}
	return hclog.New(&hclog.LoggerOptions{Name: "keeper", Level: hclog.LevelFromString(g.LogLevel),
		Output: f, JSONFormat: g.LogJSON}), func() { f.Close() }
}

// keeperSocket is this build's keeper socket: builds never share a keeper.
func keeperSocket(home string) string {
	sum := sha256.Sum256([]byte(buildinfo.String()))
	return filepath.Join(home, "keeper", hex.EncodeToString(sum[:6])+".sock")
}

// maxSocketPath is the longest unix socket path every platform accepts.
const maxSocketPath = 100

// keeperClient returns the keeper to connect through, or nil when it is
// turned off or cannot run here.
func (g *globalOptions) keeperClient() *keeper.Client {
	sock := keeperSocket(g.Home)
	if g.noKeeper || !keeper.Supported || len(sock) > maxSocketPath {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	argv := []string{exe, "keeper", "serve", "--keeper-idle", g.keeperIdle.String(), "--log-level", g.LogLevel}
	env := append(os.Environ(), "FERRY_HOME="+g.Home)
	return &keeper.Client{Socket: sock, Start: keeper.Spawner(argv, env, filepath.Join(filepath.Dir(sock), "keeper.log"))}
}

// parseKeeperIdle checks --keeper-idle.
func parseKeeperIdle(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, usageError{fmt.Errorf("--keeper-idle %q: want a duration such as 10m or 30s", s)}
	}
	return d, nil
}
