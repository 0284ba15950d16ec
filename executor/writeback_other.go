//go:build !linux

package executor

import "os"

// syncFSWorks is false: syncFS cannot make a whole file system durable
// here, so makeDurable fsyncs each blob and directory.
const syncFSWorks = false

// startWriteback is a no-op where sync_file_range(2) does not exist.
func startWriteback(*os.File) {}
