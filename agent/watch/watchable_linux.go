package watch

import (
	"bufio"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// localFS are the file systems whose every change, made on this machine,
// inotify reports (statfs(2) f_type). A network or FUSE file system (NFS,
// SMB, sshfs, WSL's 9p view of Windows) can change under the watch with no
// event, so a tree there is always walked.
var localFS = map[int64]string{
	unix.EXT4_SUPER_MAGIC:      "ext4",
	unix.XFS_SUPER_MAGIC:       "xfs",
	unix.BTRFS_SUPER_MAGIC:     "btrfs",
	unix.TMPFS_MAGIC:           "tmpfs",
	unix.F2FS_SUPER_MAGIC:      "f2fs",
	unix.OVERLAYFS_SUPER_MAGIC: "overlay",
	0x2fc12fc1:                 "zfs",
	unix.BCACHEFS_SUPER_MAGIC:  "bcachefs",
}

// watchable returns why inotify cannot vouch for the tree at root, or "".
func watchable(root string) string {
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		return "statfs: " + err.Error()
	}
	if _, ok := localFS[int64(st.Type)]; !ok {
		return "not a local file system inotify fully sees"
	}
	if m := mountUnder(root); m != "" {
		return "another file system is mounted inside it, at " + m
	}
	return ""
}

// mountUnder returns a mount point strictly inside root, if any
// (/proc/self/mountinfo; its paths escape space, tab, newline and
// backslash as octal).
func mountUnder(root string) string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "(cannot read /proc/self/mountinfo)"
	}
	defer f.Close()
	prefix := strings.TrimSuffix(root, "/") + "/"
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		if mp := unescapeMount(fields[4]); strings.HasPrefix(mp, prefix) {
			return mp
		}
	}
	return ""
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
