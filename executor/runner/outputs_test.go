//go:build linux

package runner

import (
	"encoding/hex"
	"io"
	"net/http"
	"testing"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/testutil"
)

func TestOutputsAndFiles(t *testing.T) {
	script := py(
		"import os, ferry_run",
		"d = ferry_run.outputs_dir()",
		"os.makedirs(os.path.join(d, 'sub'))",
		"open(os.path.join(d, 'model.bin'), 'wb').write(b'\\x00\\xffweights')",
		"open(os.path.join(d, 'sub', 'notes.txt'), 'w').write('hi')",
		"os.chmod(os.path.join(d, 'sub', 'notes.txt'), 0o600)",
		"os.symlink('model.bin', os.path.join(d, 'latest'))",
		"os.symlink('/etc/passwd', os.path.join(d, 'evil'))",
		"os.mkfifo(os.path.join(d, 'fifo'))",
	)
	e := newEnv(t, map[string]testutil.Tree{"s": {"out.py": script, "data/in.txt": "input"}})
	run := e.submit(api.RunSpec{Snapshot: "s", Script: "out.py"})
	if got := e.wait(run.Spec.ID); got.Status != api.StatusCompleted {
		t.Fatalf("status %s (%s): %s", got.Status, got.Reason, e.readLog(run.Spec.ID, 0, false))
	}
	var files []api.OutputFile
	if code := e.do("GET", "/v1/runs/"+run.Spec.ID+"/outputs", nil, &files); code != http.StatusOK {
		t.Fatalf("outputs: %d", code)
	}
	want := []api.OutputFile{
		{Path: "evil", Mode: 0o777, Size: 11, Link: "/etc/passwd"},
		{Path: "latest", Mode: 0o777, Size: 9, Link: "model.bin"},
		{Path: "model.bin", Mode: 0o644, Size: 9, Hash: shaHex("\x00\xffweights")},
		{Path: "sub/notes.txt", Mode: 0o600, Size: 2, Hash: shaHex("hi")},
	}
	if len(files) != len(want) {
		t.Fatalf("outputs %+v, want %+v", files, want)
	}
	for i := range want {
		if files[i] != want[i] {
			t.Errorf("output %d = %+v, want %+v", i, files[i], want[i])
		}
	}
	tests := []struct {
		path, body string
		code       int
	}{
		{"outputs/model.bin", "\x00\xffweights", 200},
		{"outputs/latest", "\x00\xffweights", 200},
		{"data/in.txt", "input", 200},
		{"outputs/evil", "", 400},
		{"outputs/sub", "", 400},
		{"outputs/nope", "", 404},
		{"../run.json", "", 400},
		{"outputs/../../run.json", "", 400},
	}
	for _, tt := range tests {
		resp, err := http.Get(e.srv.URL + "/v1/runs/" + run.Spec.ID + "/files/" + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// The client cleans "..": such requests may be redirected or
		// land elsewhere, but must never return the run record.
		if tt.code == 200 && (resp.StatusCode != 200 || string(body) != tt.body) {
			t.Errorf("file %s: %d %q", tt.path, resp.StatusCode, body)
		}
		if tt.code != 200 && resp.StatusCode == 200 {
			t.Errorf("file %s served: %q", tt.path, body)
		}
	}
}

func shaHex(s string) string {
	return hex.EncodeToString(sha([]byte(s)))
}
