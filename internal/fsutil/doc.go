// Package fsutil holds the small file-system primitives every persistent
// write in ferry goes through: private directories, one atomic file writer
// (WriteAtomic; WriteCacheFile, without the fsyncs, for caches ferry can
// rebuild) and file locks.
package fsutil
