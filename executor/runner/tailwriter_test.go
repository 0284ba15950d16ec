package runner

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/conda"
)

// TestTailWriterKeepsTheEnd: a docker build's stream passes through whole
// and its end is kept for the Terms of Service hint.
func TestTailWriterKeepsTheEnd(t *testing.T) {
	var out bytes.Buffer
	w := &tailWriter{w: &out}
	w.Write(bytes.Repeat([]byte("x"), 20<<10))
	w.Write([]byte("\nCondaToSNonInteractiveError: Terms of Service have not been accepted\n"))
	if out.Len() < 20<<10 || len(w.tail()) > 9<<10 {
		t.Fatalf("passed %d bytes, kept %d", out.Len(), len(w.tail()))
	}
	if hint := conda.TermsOfServiceHint(w.tail()); !strings.Contains(hint, "nodefaults") {
		t.Fatalf("hint %q", hint)
	}
}
