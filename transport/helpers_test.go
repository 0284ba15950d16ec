package transport_test

import (
	"context"
	"strconv"
	"testing"
	"time"
)

func contextWithTimeout(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), d)
}

func itoa(i int) string { return strconv.Itoa(i) }
