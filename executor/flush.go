package executor

import "sync"

// A cold sync writes thousands of small blobs whose writeback nothing
// starts (writebackMin), so makeDurable's one syncfs(2), after the last
// pack, found them all still dirty and waited for every byte. Now each
// stream that stored many small blobs starts a syncfs in the background,
// one at a time: by the time the manifest arrives most of the data is on
// disk and the final syncfs has little left. The background syncs make
// nothing durable that makeDurable relies on (it still syncs); their
// errors are ignored for the same reason.

// flushMinBlobs is the fewest blobs below writebackMin a stream must store
// to start a background flush: one edit's few blobs are fsynced one by
// one by makeDurable, and a syncfs beside those would only delay them.
const flushMinBlobs = 4 * fewFiles

// flusher runs at most one background syncfs at a time, and one more
// after it when asked during it.
type flusher struct {
	mu      sync.Mutex
	running bool
	again   bool
}

// flushSoon starts a background syncfs of the store's file system, or
// asks the running one to go again once done.
func (s *Store) flushSoon() {
	s.flush.soon(func() { _ = syncFS(s.blobsDir, nil) })
}

// soon runs sync on a goroutine of its own unless one is running; then it
// has that one run sync once more when it is done.
func (f *flusher) soon(sync func()) {
	f.mu.Lock()
	if f.running {
		f.again = true
		f.mu.Unlock()
		return
	}
	f.running = true
	f.mu.Unlock()
	go func() {
		for {
			sync()
			f.mu.Lock()
			if !f.again {
				f.running = false
				f.mu.Unlock()
				return
			}
			f.again = false
			f.mu.Unlock()
		}
	}()
}

// smallBlobs counts the blobs of pend that no writeback was started for.
func smallBlobs(pend []pendingBlob) int {
	n := 0
	for _, p := range pend {
		if p.size < writebackMin {
			n++
		}
	}
	return n
}
