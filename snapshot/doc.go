// Package snapshot turns a source directory into a content-addressed
// manifest: it walks the tree applying git's ignore rules (with .ferryignore
// and .amlignore taking the place of .gitignore where present), hashes file
// contents with SHA-256 in parallel, reuses hashes from a stat cache so that
// an unchanged file is never re-read, and diffs manifests. It has no network
// code.
//
// Files:
//
//	ignore.go    gitignore pattern parsing and matching (git-exact)
//	walk.go      the directory walk that applies ignore files
//	hash.go      bounded parallel hashing with the stat cache
//	statcache.go the on-disk stat cache
//	manifest.go  the canonical manifest, its id and encoding
//	diff.go      added / changed / removed between two manifests
package snapshot
