//go:build !linux

package watch

// watchable: only Linux's inotify is trusted to vouch for a tree.
func watchable(root string) string { return "tree tokens need Linux's inotify" }
