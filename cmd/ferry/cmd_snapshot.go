package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/ferry-ml/ferry/agent"
	"github.com/ferry-ml/ferry/internal/ui"
	"github.com/ferry-ml/ferry/internal/units"
	"github.com/ferry-ml/ferry/snapshot"
	"github.com/spf13/cobra"
)

// Azure ML refuses snapshots over these limits; ferry only warns.
const (
	snapshotWarnBytes = 300 << 20
	snapshotWarnFiles = 2000
	snapshotTopN      = 10
	snapshotTopDirs   = 5
)

type snapshotOptions struct {
	Source string
	List   bool
	Null   bool
	JSON   bool
}

func newSnapshotCommand(g *globalOptions) *cobra.Command {
	var opts snapshotOptions
	cmd := &cobra.Command{
		Use:   "snapshot [--source DIR] [--list [-z]] [--json]",
		Short: "Show the snapshot of the source directory: its id, or the files it includes",
		Long: `Snapshot the source directory as a run would: walk it applying the ignore
rules (.ferryignore, else .amlignore, else .gitignore, in every directory),
hash what changed since the last time, and print the snapshot id and counts.
Where the keeper watches the tree and saw nothing change since the last
snapshot, that snapshot is the answer, with no walk; where it saw changes,
only the folders they touched are read again (--no-keeper: always walk).
--list prints the included paths instead, relative to the source directory,
"/"-separated, in byte order; with -z each ends in NUL and is written raw.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p := &ui.Printer{Out: cmd.OutOrStdout(), Err: cmd.ErrOrStderr(), JSON: opts.JSON}
			return runSnapshot(contextOf(cmd), opts, g, p)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Source, "source", envOr("FERRY_SOURCE", "."), "source directory (env FERRY_SOURCE)")
	f.BoolVar(&opts.List, "list", false, "print the included paths, one per line")
	f.BoolVarP(&opts.Null, "null", "z", false, "with --list: end each path with NUL, no quoting")
	f.BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func runSnapshot(ctx context.Context, opts snapshotOptions, g *globalOptions, p *ui.Printer) error {
	if opts.Null && !opts.List {
		return usageError{errors.New("-z needs --list")}
	}
	if opts.List {
		return listSnapshot(opts, p)
	}
	res, err := snapshotSource(ctx, g, opts.Source, p, false)
	if err != nil {
		return err
	}
	if opts.JSON {
		return p.PrintJSON(res.report())
	}
	if res.stats.Watched {
		p.Printf("snapshot %s\n%d files, %s (unchanged since the last snapshot: the keeper watches the tree)\n",
			res.id, res.stats.Files, units.Bytes(res.stats.Bytes))
		return nil
	}
	if res.stats.Rescanned > 0 {
		p.Printf("snapshot %s\n%d files, %s (the keeper saw changes in %s only, read again: %d hashed, %d from the stat cache)\n",
			res.id, res.stats.Files, units.Bytes(res.stats.Bytes), plural(res.stats.Rescanned, "folder", "folders"),
			res.stats.Hashed, res.stats.Cached)
		return nil
	}
	p.Printf("snapshot %s\n%d files, %s (%d hashed, %d from the stat cache)\n",
		res.id, res.stats.Files, units.Bytes(res.stats.Bytes), res.stats.Hashed, res.stats.Cached)
	return nil
}

// listSnapshot prints the included paths: only the walk, nothing is read.
func listSnapshot(opts snapshotOptions, p *ui.Printer) error {
	abs, err := checkSource(opts.Source)
	if err != nil {
		return err
	}
	walked, err := snapshot.Walk(abs, snapshot.WalkOptions{Warn: noticeWarn(p, nil)})
	if err != nil {
		return err
	}
	if opts.JSON {
		paths := make([]string, len(walked))
		for i := range walked {
			paths[i] = walked[i].Path
		}
		return p.PrintJSON(paths)
	}
	end := byte('\n')
	if opts.Null {
		end = 0
	}
	buf := make([]byte, 0, 64<<10)
	for i := range walked {
		buf = append(append(buf, walked[i].Path...), end)
		if len(buf) >= 60<<10 {
			if _, err := p.Out.Write(buf); err != nil {
				return fmt.Errorf("write list: %w", err)
			}
			buf = buf[:0]
		}
	}
	if _, err := p.Out.Write(buf); err != nil {
		return fmt.Errorf("write list: %w", err)
	}
	return nil
}

// snapshotResult is one snapshot with what the user is told about it.
type snapshotResult struct {
	m        *snapshot.Manifest
	id       snapshot.ID
	stats    snapshot.Stats
	warnings []string
}

// takeSnapshot snapshots source for a command that goes on to use it (sync,
// run): warnings, including the big-snapshot one, go to stderr.
func takeSnapshot(ctx context.Context, g *globalOptions, source string, p *ui.Printer) (*snapshot.Manifest, snapshot.Stats, error) {
	res, err := snapshotSource(ctx, g, source, p, true)
	if err != nil {
		return nil, snapshot.Stats{}, err
	}
	return res.m, res.stats, nil
}

// snapshotSource takes the snapshot of source with the stat cache under
// $FERRY_HOME/cache/stat, printing warnings to stderr as they come;
// forSync: with the options of a snapshot to be synced (agent.ForSync).
func snapshotSource(ctx context.Context, g *globalOptions, source string, p *ui.Printer, forSync bool) (*snapshotResult, error) {
	abs, err := checkSource(source)
	if err != nil {
		return nil, err
	}
	cacheDir := filepath.Join(g.Home, "cache", "stat")
	if err := os.MkdirAll(cacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("create stat cache directory: %w", err)
	}
	res := &snapshotResult{}
	opts := snapshot.Options{CacheDir: cacheDir, Logger: g.logger, Warn: noticeWarn(p, &res.warnings),
		Tree: g.treeChanges(ctx)}
	if forSync {
		opts = agent.ForSync(opts)
	}
	res.m, res.stats, err = snapshot.Take(ctx, abs, opts)
	if errors.Is(err, snapshot.ErrTooManyEntries) {
		return nil, &UserError{Msg: "the source directory is too big to snapshot", Err: err,
			Hint: "leave data, checkpoints and build outputs out with a .ferryignore file (ferry snapshot --list shows what is included)"}
	}
	if err != nil {
		return nil, err
	}
	idDone := make(chan struct{})
	go func() { // beside the report below: each is a pass over every entry
		defer close(idDone)
		res.id = res.m.ID()
	}()
	if w := bigSnapshotWarning(res.m); w != "" {
		res.warnings = append(res.warnings, w)
		p.Noticef("warning: %s\n%s", w, largestReport(res.m))
	}
	<-idDone
	return res, nil
}

// checkSource returns the absolute source directory, or a UserError.
func checkSource(source string) (string, error) {
	abs, err := filepath.Abs(source)
	if err != nil {
		return "", fmt.Errorf("resolve source %s: %w", source, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", &UserError{Msg: fmt.Sprintf("source directory %s does not exist", source),
			Hint: "pass --source DIR (or set FERRY_SOURCE) to the directory with your training code"}
	case err != nil:
		return "", fmt.Errorf("stat source: %w", err)
	case !fi.IsDir():
		return "", &UserError{Msg: fmt.Sprintf("source %s is not a directory", source),
			Hint: "pass --source the directory that holds your script, not the script"}
	}
	return abs, nil
}

// noticeWarn returns a Warn callback that prints each skipped path to
// stderr and, if into is not nil, collects the messages. Safe for
// concurrent use.
func noticeWarn(p *ui.Printer, into *[]string) func(path, reason string) {
	var mu sync.Mutex
	return func(path, reason string) {
		msg := fmt.Sprintf("skipped %q: %s", path, reason)
		mu.Lock()
		defer mu.Unlock()
		p.Noticef("warning: %s\n", msg)
		if into != nil {
			*into = append(*into, msg)
		}
	}
}

// bigSnapshotWarning returns the warning for a snapshot over Azure ML's
// limits, or "".
func bigSnapshotWarning(m *snapshot.Manifest) string {
	files, size := m.Files(), m.Bytes()
	if files <= snapshotWarnFiles && size <= snapshotWarnBytes {
		return ""
	}
	return fmt.Sprintf("the snapshot holds %d files, %s: over Azure ML's limit of %d files or %s "+
		"(ferry goes on; add a .ferryignore to leave out data and outputs)",
		files, units.Bytes(size), snapshotWarnFiles, units.Bytes(snapshotWarnBytes))
}

func (r *snapshotResult) report() map[string]any {
	warnings := r.warnings
	if warnings == nil {
		warnings = []string{}
	}
	return map[string]any{
		"snapshot": r.id.String(), "files": r.stats.Files, "bytes": r.stats.Bytes,
		"hashed_files": r.stats.Hashed, "cached_files": r.stats.Cached, "watched": r.stats.Watched,
		"rescanned_folders": r.stats.Rescanned,
		"warnings":          warnings, "largest": largestEntries(r.m, snapshotTopN),
		"largest_dirs": largestDirs(r.m, snapshotTopDirs),
		"duration_ms":  r.stats.Duration.Milliseconds(),
	}
}
