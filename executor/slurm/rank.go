package slurm

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ferry-ml/ferry/internal/fsutil"
)

// RankExit is how one rank's script ended, as its task saw it.
type RankExit struct {
	Rank     int       `json:"rank"`
	Node     string    `json:"node,omitempty"`
	ExitCode *int      `json:"exit_code"`        // nil: the script never started
	Signal   string    `json:"signal,omitempty"` // the signal that killed it
	Reason   string    `json:"reason,omitempty"`
	Ended    time.Time `json:"ended"`
}

// WriteRankExit records e in dir/ranks/<rank>.exit.json.
func WriteRankExit(dir string, e RankExit) error {
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode rank exit: %w", err)
	}
	path := RankExitPath(dir, e.Rank)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create ranks directory: %w", err)
	}
	return fsutil.WriteFileAtomic(path, data, 0o600)
}

// readRankExits reads the exit records of ranks 0..n-1; missing lists the
// ranks without one.
func readRankExits(dir string, n int) (exits []RankExit, missing []int) {
	for r := 0; r < n; r++ {
		var e RankExit
		data, err := os.ReadFile(RankExitPath(dir, r))
		if err != nil || json.Unmarshal(data, &e) != nil {
			missing = append(missing, r)
			continue
		}
		exits = append(exits, e)
	}
	return exits, missing
}

// firstFailure is the failing rank that ended first: with
// --kill-on-bad-exit the others fail after it, killed on its account.
func firstFailure(exits []RankExit) *RankExit {
	var first *RankExit
	for i := range exits {
		e := &exits[i]
		if e.ExitCode != nil && *e.ExitCode == 0 {
			continue
		}
		if first == nil || e.Ended.Before(first.Ended) {
			first = e
		}
	}
	return first
}

// describe says how e ended, in words: "rank 3 exited with code 1".
func (e RankExit) describe() string {
	switch {
	case e.ExitCode == nil && e.Reason != "":
		return fmt.Sprintf("rank %d: %s", e.Rank, e.Reason)
	case e.ExitCode == nil:
		return fmt.Sprintf("rank %d did not start", e.Rank)
	case e.Signal != "":
		return fmt.Sprintf("rank %d was killed by %s%s", e.Rank, e.Signal, onNode(e.Node))
	default:
		return fmt.Sprintf("rank %d exited with code %d%s", e.Rank, *e.ExitCode, onNode(e.Node))
	}
}

func onNode(n string) string {
	if n == "" {
		return ""
	}
	return " on " + n
}
