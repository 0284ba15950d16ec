package tailbuf

import (
	"fmt"
	"strings"
	"testing"
)

func TestKeepsTheLastLinesOnly(t *testing.T) {
	b := New(64)
	for i := range 100 {
		fmt.Fprintf(b, "line %d\n", i)
	}
	got := b.String()
	if len(got) > 64 || !strings.HasSuffix(got, "line 99") || !strings.HasPrefix(got, "line ") {
		t.Fatalf("tail %q: want at most 64 bytes, whole lines, ending with line 99", got)
	}
	if strings.Contains(got, "line 1\n") {
		t.Fatalf("tail %q kept an early line", got)
	}
}

func TestReplacesControlCharacters(t *testing.T) {
	b := New(64)
	b.Write([]byte("  red \x1b[31mtext\x7f\tok\n"))
	if got, want := b.String(), "red ?[31mtext?\tok"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

func TestShortOutputIsKeptWhole(t *testing.T) {
	b := New(64)
	b.Write([]byte("partial line without newline"))
	if got := b.String(); got != "partial line without newline" {
		t.Fatalf("String() = %q", got)
	}
}
