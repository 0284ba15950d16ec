package runargs

import (
	"fmt"
	"strconv"
	"strings"
)

// GPUs is a parsed --gpus value. The zero value asks for none.
type GPUs struct {
	All   bool     // every GPU
	Count int      // this many GPUs (when not All and IDs is empty)
	IDs   []string // these device ids or UUIDs
}

// None reports whether g asks for no GPU.
func (g GPUs) None() bool { return !g.All && g.Count == 0 && len(g.IDs) == 0 }

// ParseGPUs reads a --gpus value as docker does: "" or "0" none, "all"
// every GPU, "N" that many, "device=0,2" those ids (quotes around the value
// are allowed, as in `--gpus '"device=0,2"'`).
func ParseGPUs(s string) (GPUs, error) {
	s = strings.Trim(strings.TrimSpace(s), `"'`)
	switch {
	case s == "" || s == "0":
		return GPUs{}, nil
	case s == "all":
		return GPUs{All: true}, nil
	case strings.HasPrefix(s, "device="):
		ids := strings.Split(strings.TrimPrefix(s, "device="), ",")
		for _, id := range ids {
			if id == "" {
				return GPUs{}, fmt.Errorf("gpus %q: empty device id", s)
			}
		}
		return GPUs{IDs: ids}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return GPUs{}, fmt.Errorf("gpus %q: want all, a count or device=ID[,ID]", s)
	}
	return GPUs{Count: n}, nil
}
