package main

import (
	"os"
	"testing"
)

// TestMain keeps the commands these tests run in-process from starting a
// keeper: its command line would be this test binary's.
func TestMain(m *testing.M) {
	os.Setenv("FERRY_NO_KEEPER", "1")
	os.Exit(m.Run())
}
