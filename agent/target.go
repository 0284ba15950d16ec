package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ferry-ml/ferry/agent/compute"
)

// Detach forgets the named target: its registration under home and what
// the agent cached about it (where its executor listens, the last synced
// manifest). Nothing on the machine is touched.
func Detach(home, name string) error {
	if err := compute.Open(home).Remove(name); err != nil {
		return err
	}
	var errs []error
	for _, p := range []string{
		filepath.Join(home, "cache", "targets", name+".json"),
		filepath.Join(home, "cache", "synced", name+".manifest"),
	} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove cached state of %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
