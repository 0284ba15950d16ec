package docker

import (
	"strings"
	"testing"
)

func TestReadStream(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantLog string
		wantErr string
		wantID  string
	}{
		{"build ok", `{"stream":"Step 1/2 : FROM x\n"}{"stream":" ---\u003e 1a2b\n"}{"stream":"\u001b[91mwarn\n\u001b[0m"}{"aux":{"ID":"sha256:abc"}}{"stream":"Successfully built 1a2b\n"}`,
			"Step 1/2 : FROM x\n ---> 1a2b\nwarn\nSuccessfully built 1a2b\n", "", "sha256:abc"},
		{"build error", `{"stream":"Step 2/2 : RUN exit 7\n"}{"errorDetail":{"code":7,"message":"The command '/bin/sh -c exit 7' returned a non-zero code: 7"},"error":"The command '/bin/sh -c exit 7' returned a non-zero code: 7"}`,
			"Step 2/2 : RUN exit 7\nERROR: The command", "returned a non-zero code: 7", ""},
		{"pull status", `{"status":"Pulling from library/x","id":"latest"}{"status":"Downloading","progressDetail":{"current":1},"id":"ab12"}{"error":"pull access denied"}`,
			"latest: Pulling from library/x\nab12: Downloading\nERROR: pull access denied\n", "pull access denied", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log strings.Builder
			res, err := readStream(strings.NewReader(tt.in), &log)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(log.String(), tt.wantLog) {
				t.Errorf("log = %q, want prefix %q", log.String(), tt.wantLog)
			}
			if !strings.Contains(res.errMsg, tt.wantErr) || (tt.wantErr == "") != (res.errMsg == "") {
				t.Errorf("errMsg = %q, want %q", res.errMsg, tt.wantErr)
			}
			if res.imageID != tt.wantID {
				t.Errorf("imageID = %q, want %q", res.imageID, tt.wantID)
			}
		})
	}
}

func TestReadStreamBroken(t *testing.T) {
	if _, err := readStream(strings.NewReader(`{"stream":"x"`), &strings.Builder{}); err == nil {
		t.Error("truncated stream decoded without error")
	}
}
