package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ferry-ml/ferry/internal/ui"
	"github.com/ferry-ml/ferry/internal/units"
	"github.com/spf13/cobra"
)

type syncOptions struct {
	Compute string
	Source  string
	JSON    bool
}

func newSyncCommand(g *globalOptions) *cobra.Command {
	var opts syncOptions
	cmd := &cobra.Command{
		Use:   "sync --compute NAME [--source DIR]",
		Short: "Upload the source directory's snapshot to a compute target",
		Long: `Snapshot the source directory (the same files 'ferry snapshot --list' shows)
and upload to the compute target only the content it lacks. Runs do this
themselves; sync is for seeing what would travel, or warming a target.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSync(contextOf(cmd), opts, g)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Compute, "compute", envOr("FERRY_COMPUTE", "local"), "compute target (env FERRY_COMPUTE)")
	f.StringVar(&opts.Source, "source", envOr("FERRY_SOURCE", "."), "source directory (env FERRY_SOURCE)")
	f.BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func runSync(ctx context.Context, opts syncOptions, g *globalOptions) error {
	p := ui.New(opts.JSON)
	// The connection, and the executor's install on first contact,
	// overlap the snapshot.
	dial, err := g.connectAsync(ctx, opts.Compute)
	if err != nil {
		return err
	}
	defer dial.close()
	m, _, err := takeSnapshot(ctx, g, opts.Source, p)
	if err != nil {
		return err
	}
	conn, err := dial.wait(ctx)
	if err != nil {
		return err
	}
	bar := newProgressBar(p)
	res, err := conn.Sync(ctx, opts.Source, m, bar.update)
	bar.done()
	if err != nil {
		return err
	}
	if opts.JSON {
		return p.PrintJSON(res)
	}
	if res.UpToDate {
		p.Printf("snapshot %s already on %s (%d files, %s): nothing to upload\n",
			res.Snapshot[:12], opts.Compute, res.Files, units.Bytes(res.Bytes))
		return nil
	}
	p.Printf("synced snapshot %s to %s: uploaded %d of %d files (%s of %s) in %s\n",
		res.Snapshot[:12], opts.Compute, res.UploadedFiles, res.Files,
		units.Bytes(res.UploadedBytes), units.Bytes(res.Bytes), res.Duration.Round(time.Millisecond))
	return nil
}

// progressBar draws upload progress on a terminal's stderr once an upload
// has taken more than a moment; elsewhere it draws nothing.
type progressBar struct {
	p     *ui.Printer
	on    bool
	start time.Time
	mu    sync.Mutex
	last  time.Time
	drawn bool
}

func newProgressBar(p *ui.Printer) *progressBar {
	return &progressBar{p: p, on: p.ErrIsTerminal(), start: time.Now()}
}

func (b *progressBar) update(done, total int64) {
	if !b.on {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if now.Sub(b.start) < 500*time.Millisecond || now.Sub(b.last) < 100*time.Millisecond {
		return
	}
	b.last, b.drawn = now, true
	const width = 30
	frac := float64(done) / float64(max(total, 1))
	n := int(frac * width)
	rate := float64(done) / now.Sub(b.start).Seconds()
	fmt.Fprintf(b.p.Err, "\rupload [%-*s] %3.0f%% %s/%s %s/s ", width,
		repeat('=', n), frac*100, units.Bytes(done), units.Bytes(total), units.Bytes(int64(rate)))
}

func (b *progressBar) done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drawn {
		fmt.Fprint(b.p.Err, "\r\033[K")
	}
}

// reset makes the bar ready for another upload.
func (b *progressBar) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.start, b.last, b.drawn = time.Now(), time.Time{}, false
}

func repeat(c byte, n int) string {
	out := make([]byte, n)
	for i := range out {
		out[i] = c
	}
	return string(out)
}
