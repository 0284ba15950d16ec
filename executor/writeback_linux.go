package executor

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFSWorks reports that syncFS makes a whole file system durable.
const syncFSWorks = true

// startWriteback asks the kernel to start writing f's dirty pages now,
// without waiting (sync_file_range(2) with SYNC_FILE_RANGE_WRITE, as git's
// core.fsyncMethod=batch does). It makes nothing durable by itself:
// makeDurable still does, but finds most of the data already written, so
// the network and the disk work in parallel instead of one after the
// other. Errors are ignored: the later sync reports any real one.
func startWriteback(f *os.File) {
	_ = unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
}
