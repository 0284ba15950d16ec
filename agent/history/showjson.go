package history

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/ferry-ml/ferry/executor/api"
)

// WriteShowJSON writes the "ferry show --json" form of r to w: r's JSON
// (see MarshalJSON), indented, with a "metrics" array of every metric of the run,
// read from the store one at a time, so that a run with many metrics is
// never held in memory at once.
func (s *Store) WriteShowJSON(ctx context.Context, w io.Writer, r Record) error {
	head, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode run %s: %w", r.ID, err)
	}
	// head is an object with at least an id: drop its "}" and go on.
	head = bytes.TrimSuffix(head, []byte("\n}"))
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(head)
	bw.WriteString(",\n  \"metrics\": [")
	first := true
	err = s.EachMetric(ctx, r.ID, func(m api.Metric) error {
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if !first {
			bw.WriteByte(',')
		}
		first = false
		bw.WriteString("\n    ")
		_, err = bw.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	if !first {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]\n}\n")
	return bw.Flush()
}
