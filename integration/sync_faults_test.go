package integration

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/internal/testutil"
	"github.com/ferry-ml/ferry/snapshot"
)

const containerState = "/home/ferry/.ferry"

// TestSyncContainer syncs a tree to a target that shares nothing with this
// machine and checks, on the target, what arrived: every blob by hash,
// nothing written outside the state directory, and a run sees exactly our
// files. Then a corrupted blob is detected and replaced.
func TestSyncContainer(t *testing.T) {
	ct := testutil.StartContainerTarget(t, testutil.ContainerOptions{})
	c := newCLI(t)
	c.attachContainer("box", ct)
	src := shortDir(t)
	files := writeTestTree(t, src, 2000, 4<<10, 2<<20, 2<<20, 2<<20)
	ct.ExecAs(t, "root", "touch", "/tmp/ferry-marker")

	first := c.sync("box", src)
	if first.Files != len(files)+1 || first.UploadedFiles != first.Files || first.UpToDate {
		t.Fatalf("first sync: %+v, want %d files all uploaded (with the symlink)", first, len(files)+1)
	}
	if second := c.sync("box", src); !second.UpToDate || second.UploadedFiles != 0 || second.UploadedBytes != 0 {
		t.Fatalf("second sync: %+v, want up to date", second)
	}
	changed := []byte("changed content of one file\n")
	if err := os.WriteFile(filepath.Join(src, "d03/f0003.bin"), changed, 0o644); err != nil {
		t.Fatal(err)
	}
	third := c.sync("box", src)
	if third.UploadedFiles != 1 || third.UploadedBytes != int64(len(changed)) {
		t.Fatalf("sync after one change: %+v, want 1 file of %d bytes", third, len(changed))
	}
	blobs := verifyBlobs(t, ct, containerState)
	want := localHashes(t, src, files)
	for f, h := range want {
		if !blobs[h] {
			t.Errorf("blob of %q (%s) missing on the target", f, h[:12])
		}
	}
	checkNoStrayWrites(t, ct)

	testutil.WriteTree(t, src, testutil.Tree{"hashes.py": hashScript})
	got := remoteHashes(t, c, "box", src)
	for f, h := range want {
		if got[f] != h {
			t.Errorf("run sees %q as %q, want %s", f, got[f], h[:12])
		}
	}
	if len(got) != len(want)+1 {
		t.Errorf("run sees %d files, want %d", len(got), len(want))
	}
	if got["EXEC:run.sh"] != "True" {
		t.Errorf("run.sh is not executable on the target")
	}

	t.Run("corrupt blob under a stored snapshot", func(t *testing.T) {
		// Same size, so only its hash can tell; the manifest stays.
		f := "d05/f0005.bin"
		h := want[f]
		blob := containerState + "/blobs/" + h[:2] + "/" + h
		ct.Exec(t, "sh", "-c", `chmod 0644 "$1" && head -c 4096 /dev/zero > "$1" && chmod 0444 "$1"`, "sh", blob)
		got := remoteHashes(t, c, "box", src)
		if got[f] != h {
			t.Fatalf("run sees %s as %q after its blob was damaged, want %s", f, got[f], h[:12])
		}
		verifyBlobs(t, ct, containerState)
	})

	t.Run("corrupt blob is replaced", func(t *testing.T) {
		h := want["big/b1.bin"]
		blob := containerState + "/blobs/" + h[:2] + "/" + h
		ct.Exec(t, "sh", "-c", `chmod 0644 "$1" && printf garbage > "$1" && chmod 0444 "$1"`, "sh", blob)
		// Make the target need the snapshot again: forget its manifests.
		ct.Exec(t, "sh", "-c", `rm -f `+containerState+`/snapshots/*`)
		res := c.sync("box", src)
		if res.UploadedFiles != 1 || res.UploadedBytes != 2<<20 {
			t.Fatalf("sync after corruption: %+v, want the corrupt blob (2 MiB) sent again", res)
		}
		verifyBlobs(t, ct, containerState)
		got := remoteHashes(t, c, "box", src)
		if got["big/b1.bin"] != h {
			t.Fatalf("run sees big/b1.bin as %q, want %s", got["big/b1.bin"], h[:12])
		}
	})
}

// checkNoStrayWrites lists files changed since /tmp/ferry-marker outside
// the state directory and the places sshd and the system touch on a login.
func checkNoStrayWrites(t *testing.T, ct *testutil.ContainerTarget) {
	t.Helper()
	out := ct.ExecAs(t, "root", "sh", "-c", `find / -xdev -newer /tmp/ferry-marker \
		-not -path '/home/ferry/.ferry' -not -path '/home/ferry/.ferry/*' \
		-not -path '/proc/*' -not -path '/sys/*' -not -path '/dev/*' -not -path '/run/*' \
		-not -path '/var/log/*' -not -path '/var/log' -not -path '/tmp' -not -path '/tmp/ferry-marker' -print`)
	for _, p := range strings.Fields(out) {
		switch p {
		case "/home/ferry", "/etc", "/var/run": // directory mtimes of logins
			continue
		}
		t.Errorf("ferry wrote outside its state directory: %s", p)
	}
}

// TestSyncCutLink cuts the connection in the middle of an upload, then
// syncs again: the second sync sends only what is missing and the target
// never holds a manifest whose blobs are missing. A frozen link ends the
// sync with an error, not a hang.
func TestSyncCutLink(t *testing.T) {
	ct := testutil.StartContainerTarget(t, testutil.ContainerOptions{})
	proxy := testutil.StartProxy(t, ct.Addr(), testutil.ProxyOptions{})
	c := newCLI(t)
	kh := filepath.Join(shortDir(t), "known_hosts")
	c.mustRun("", "compute", "attach", "box", "--address", "127.0.0.1", "--port", strconv.Itoa(proxy.Port()),
		"--username", ct.User, "--private-key", ct.KeyFile, "--known-hosts", kh, "--accept-new-host-key")
	src := shortDir(t)
	files := writeTestTree(t, src, 2500, 4<<10, 2<<20, 2<<20) // about 14 MB
	warm := shortDir(t)                                       // install and start the executor first
	testutil.WriteTree(t, warm, testutil.Tree{"a.txt": "a"})
	c.sync("box", warm)

	proxy.DropAfter(1 << 20)
	start := time.Now()
	r := c.run("", "sync", "--compute", "box", "--source", src, "--json")
	if r.Code != 1 || time.Since(start) > 60*time.Second {
		t.Fatalf("sync over a cut link: exit %d after %s, want 1\nstdout:\n%s\nstderr:\n%s", r.Code, time.Since(start), r.Stdout, r.Stderr)
	}
	last := lastLine(r.Stderr)
	if !strings.HasPrefix(last, "ferry: ") || !strings.Contains(last, "connection") {
		t.Errorf("cut link: last line is not a clear error: %q", last)
	}
	t.Logf("cut sync after %s: %s", time.Since(start).Round(time.Millisecond), last)
	if n := checkManifestsComplete(t, ct); n != 1 { // the warm-up's
		t.Errorf("%d manifests on the target after a cut sync, want 1", n)
	}
	proxy.DropAfter(-1)
	res := c.sync("box", src)
	if res.UploadedBytes >= res.Bytes || res.UploadedFiles == 0 {
		t.Errorf("resumed sync: %+v, want only part of %d bytes sent", res, res.Bytes)
	}
	blobs := verifyBlobs(t, ct, containerState)
	for f, h := range localHashes(t, src, files) {
		if !blobs[h] {
			t.Errorf("blob of %q missing on the target", f)
		}
	}
	if n := checkManifestsComplete(t, ct); n != 2 {
		t.Errorf("%d manifests on the target after the resumed sync, want 2", n)
	}

	t.Run("frozen link", func(t *testing.T) {
		writeTestTree(t, filepath.Join(src, "more"), 1, 1, 16<<20)
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := c.command(ctx, "", "sync", "--compute", "box", "--source", src)
		var errb strings.Builder
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitBytesUp(t, proxy, proxy.BytesUp()+4<<20)
		proxy.Freeze()
		defer proxy.Unfreeze()
		frozen := time.Now()
		err := cmd.Wait()
		if err == nil || ctx.Err() != nil {
			t.Fatalf("sync over a frozen link: %v (ctx %v) after %s\n%s", err, ctx.Err(), time.Since(frozen), errb.String())
		}
		if d := time.Since(frozen); d > 40*time.Second {
			t.Errorf("frozen link noticed after %s, want about 15 s", d)
		}
		t.Logf("frozen sync ended after %s: %s", time.Since(frozen).Round(time.Second), lastLine(errb.String()))
	})
}

// checkManifestsComplete checks that every blob named by every snapshot
// manifest on the target is in its store: a run of any of them would find
// all its content. It returns how many manifests there are.
func checkManifestsComplete(t *testing.T, ct *testutil.ContainerTarget) int {
	t.Helper()
	blobs := verifyBlobs(t, ct, containerState)
	ids := strings.Fields(ct.Exec(t, "ls", containerState+"/snapshots"))
	for _, id := range ids {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(ct.Exec(t, "base64", "-w0", containerState+"/snapshots/"+id)))
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := snapshot.ParseManifest(b)
		if err != nil {
			t.Fatalf("parse manifest %s on the target: %v", id, err)
		}
		for _, blob := range m.Blobs() {
			if !blobs[blob.String()] {
				t.Errorf("manifest %s references blob %s, missing on the target", id[:12], blob.String()[:12])
			}
		}
	}
	return len(ids)
}

// TestSyncDiskFull fills a 20 MB state directory: the sync fails with a
// clear "no space" error and leaves no temp files and no manifest; a small
// tree syncs fine afterwards.
func TestSyncDiskFull(t *testing.T) {
	ct := testutil.StartContainerTarget(t, testutil.ContainerOptions{TmpfsHome: "20m"})
	c := newCLI(t)
	c.attachContainer("box", ct)
	big := shortDir(t)
	writeTestTree(t, big, 10, 1<<10, 8<<20, 8<<20, 8<<20, 8<<20, 8<<20)
	r := c.run("", "sync", "--compute", "box", "--source", big)
	if r.Code != 1 || !strings.Contains(strings.ToLower(r.Stderr), "no space") {
		t.Fatalf("sync to a full disk: exit %d, want 1 and \"no space\"\nstderr:\n%s", r.Code, r.Stderr)
	}
	t.Logf("full disk: %s", strings.TrimSpace(r.Stderr))
	left := ct.Exec(t, "sh", "-c", "cd "+containerState+" && find tmp snapshots incoming -mindepth 1")
	if strings.TrimSpace(left) != "" {
		t.Errorf("left in tmp/ or snapshots/ after a failed sync:\n%s", left)
	}
	small := shortDir(t)
	writeTestTree(t, small, 20, 1<<10)
	if res := c.sync("box", small); res.UploadedFiles != res.Files {
		t.Errorf("small sync after a full disk: %+v", res)
	}
}

// waitBytesUp waits until n bytes went up through the proxy. The proxy
// has no event for it, so this samples its counter every 5 ms.
func waitBytesUp(t *testing.T, p *testutil.Proxy, n int64) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(60 * time.Second)
	for p.BytesUp() < n {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("only %d of %d bytes went through the proxy", p.BytesUp(), n)
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
