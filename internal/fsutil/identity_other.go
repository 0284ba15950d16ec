//go:build !linux && !darwin

package fsutil

import (
	"fmt"
	"os"
)

// Identity names one version of a file by its size and mtime (this
// platform's stat has no portable ctime).
func Identity(fi os.FileInfo) string {
	return fmt.Sprintf("%d:%d", fi.Size(), fi.ModTime().UnixNano())
}
