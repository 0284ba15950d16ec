package engine

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// frame is one frame of the attach stream.
func frame(stream byte, payload string) []byte {
	hdr := make([]byte, 8, 8+len(payload))
	hdr[0] = stream
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(payload)))
	return append(hdr, payload...)
}

func TestDemux(t *testing.T) {
	var in bytes.Buffer
	in.Write(frame(streamStdout, "out 1\n"))
	in.Write(frame(streamStderr, "err 1\n"))
	in.Write(frame(streamStdout, ""))
	in.Write(frame(streamStdout, strings.Repeat("x", 70000)))
	var out bytes.Buffer
	if err := Demux(&out, &in); err != nil {
		t.Fatal(err)
	}
	if want := "out 1\nerr 1\n" + strings.Repeat("x", 70000); out.String() != want {
		t.Errorf("Demux wrote %d bytes %q..., want %d", out.Len(), out.String()[:min(out.Len(), 20)], len(want))
	}
}

func TestDemuxErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"engine error", append(frame(streamStdout, "a"), frame(streamSystem, "disk full")...), "the engine says: disk full"},
		{"unknown stream", frame(7, "a"), "unknown stream 7"},
		{"cut header", frame(streamStdout, "abc")[:5], "unexpected EOF"},
		{"cut payload", frame(streamStdout, "abc")[:10], "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Demux(&out, bytes.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Demux = %v, want an error with %q", err, tt.want)
			}
		})
	}
}
