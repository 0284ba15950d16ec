package history

import (
	"path/filepath"
	"sync"
	"testing"
)

// TestOpenConcurrentFresh: ferry commands started at once on a fresh
// FERRY_HOME all open (and so create and migrate) the history together.
func TestOpenConcurrentFresh(t *testing.T) {
	for round := range 20 {
		path := filepath.Join(t.TempDir(), "history.db")
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() {
				s, err := Open(path, nil)
				if err != nil {
					errs <- err
					return
				}
				errs <- s.Close()
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
}
