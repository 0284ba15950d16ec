package history

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
)

// fill puts n runs spread over experiments, computes and statuses, with
// metrics and git info like real ones, in one transaction.
func fill(tb testing.TB, s *Store, n int) {
	tb.Helper()
	statuses := []api.Status{api.StatusCompleted, api.StatusFailed, api.StatusRunning, api.StatusCanceled}
	recs := make([]Record, n)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range recs {
		r := fullRecord()
		r.ID = fmt.Sprintf("exp%d_%d_%06x", i%20, base.Unix()+int64(i), i)
		r.Experiment = fmt.Sprintf("exp%d", i%20)
		r.Compute = fmt.Sprintf("gpu%d", i%3)
		r.Status = statuses[i%len(statuses)]
		r.CreatedAt = base.Add(time.Duration(i) * time.Second)
		recs[i] = r
	}
	if err := s.PutAll(tb.Context(), recs); err != nil {
		tb.Fatal(err)
	}
}

// TestListLargeHistoryFast checks that a page of the newest runs does not
// get slower as the history grows: List(limit 50) over 5,000 runs must
// take well under 50 ms (it takes 1-3 ms; about 40 ms under the race
// detector, whose limit is scaled by slowdown). TestListUsesIndex checks
// the same property structurally.
func TestListLargeHistoryFast(t *testing.T) {
	s, _ := openTest(t)
	start := time.Now()
	fill(t, s, 5000)
	t.Logf("inserted 5000 runs in one transaction in %v", time.Since(start))
	for _, f := range []Filter{{Limit: 50}, {Experiment: "exp7", Limit: 50}, {Status: api.StatusFailed, Limit: 50}} {
		best := time.Hour
		for range 3 {
			start := time.Now()
			recs, err := s.List(t.Context(), f)
			if d := time.Since(start); d < best {
				best = d
			}
			if err != nil || len(recs) != 50 {
				t.Fatalf("List(%+v) = %d runs, %v; want 50", f, len(recs), err)
			}
		}
		t.Logf("List(%+v) over 5000 runs: %v", f, best)
		if limit := slowdown * 50 * time.Millisecond; best > limit {
			t.Errorf("List(%+v) took %v, want < %v", f, best, limit)
		}
	}
}

// TestListUsesIndex checks that every filter List builds reads an index in
// result order, with no sort of the whole table.
func TestListUsesIndex(t *testing.T) {
	s, _ := openTest(t)
	for _, f := range []Filter{{}, {Experiment: "e"}, {Compute: "c"}, {Status: api.StatusFailed}, {Experiment: "e", Status: api.StatusFailed}} {
		rows, err := s.db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+listQuery(f), listArgs(f)...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		joined := strings.Join(plan, "; ")
		if !strings.Contains(joined, "USING INDEX") || strings.Contains(joined, "TEMP B-TREE") {
			t.Errorf("List(%+v) plan %q: want an index scan without a sort", f, joined)
		}
	}
}

func BenchmarkList50Of10000(b *testing.B) {
	s, _ := openTest(b)
	fill(b, s, 10000)
	for _, f := range []Filter{{Limit: 50}, {Experiment: "exp7", Limit: 50}, {Compute: "gpu1", Status: api.StatusFailed, Limit: 50}} {
		b.Run(fmt.Sprintf("%+v", f), func(b *testing.B) {
			for b.Loop() {
				if recs, err := s.List(b.Context(), f); err != nil || len(recs) != 50 {
					b.Fatalf("List = %d, %v", len(recs), err)
				}
			}
		})
	}
}

func BenchmarkGetPrefix(b *testing.B) {
	s, _ := openTest(b)
	fill(b, s, 10000)
	for b.Loop() {
		if _, err := s.Get(b.Context(), "exp7_1767226"); err == nil {
			b.Fatal("want ambiguous")
		}
	}
}

func BenchmarkPut(b *testing.B) {
	s, _ := openTest(b)
	r := fullRecord()
	i := 0
	for b.Loop() {
		i++
		r.ID = fmt.Sprintf("run_%d", i)
		if err := s.Put(b.Context(), r); err != nil {
			b.Fatal(err)
		}
	}
}
