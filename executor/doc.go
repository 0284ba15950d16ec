// Package executor is the daemon that runs on a compute target: it serves
// the HTTP API of package api on a unix socket under its state directory,
// keeps a content-addressed blob store fed by packs uploaded over SFTP,
// stores snapshot manifests, and materialises snapshots into run
// directories. Run supervision lives in executor/runner and is mounted into
// the server as an http.Handler.
//
// State directory layout (all private to the user, 0700):
//
//	executor.sock          the API socket (0600)
//	executor.lock          flock'ed by the one daemon serving this directory
//	executor.log           the daemon's JSON log (rotated past 10 MB to .1)
//	executor/<version>/    installed executables; unused ones pruned after 30 days
//	                       (ferry-executor.verified: its SHA-256 and the identity of
//	                       the file it was taken of, written by the agent's ensure script)
//	blobs/ab/<64 hex>      blob contents, read-only (0444), named by SHA-256
//	index/<seq>.idx        the blob index: size, inode and mtime of each blob
//	snapshots/<64 hex>     manifests (snapshot.Manifest encoding)
//	incoming/              packs uploaded by the agent, deleted once ingested
//	tmp/                   temp files (same file system as blobs/)
//	chunks/<64 hex>        chunk lists of large blobs, a cache (chunks.go)
//
// Trusting a blob without reading it: the index records, for every blob the
// store wrote or verified, its size, inode number and mtime. A blob whose
// lstat differs in any of them, or whose mode is not a read-only regular
// file, was touched after it was verified (a write or truncate moves mtime,
// a chmod changes the mode) and is re-hashed before it is trusted;
// a blob that no longer matches its name is deleted and reported missing.
// The index is a cache: losing it (or a torn segment after a crash) only
// costs one re-hash of the blobs it described.
//
// Files:
//
//	statedir.go    layout and preparation of the state directory
//	store.go       the blob store, Missing
//	index.go       the blob index
//	ingest.go      pack ingest; blobs made durable once per manifest
//	snapshots.go   manifest PUT and GET
//	materialize.go snapshot -> directory, confined with os.Root
//	server.go      the HTTP server; handlers.go its handlers
//	daemon.go      lock and socket of serve; ensure.go, install.go, proxy.go
//	               the other roles of the ferry-executor binary
package executor
