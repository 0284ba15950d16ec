package bounds

import (
	"os"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.RemoveBinaries() // the binaries built for this process
	os.Exit(code)
}
