package watch

import (
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m) } // removes the binaries built for this process
