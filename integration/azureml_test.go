package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/internal/testutil"
)

// amlTrain is an Azure ML v1 training script as users have them; no
// azureml-core is installed where it runs.
const amlTrain = `from azureml.core.run import Run
from azureml.core import Run as R
run = Run.get_context()
for i, loss in enumerate([0.9, 0.5, 0.2]):
    run.log("loss", loss)
run.log("optimizer", "adam")
run.log_list("lrs", [0.1, 0.01, 0.001])
run.log_row("per_class", cls="cat", acc=0.9)
run.log_row("per_class", cls="dog", acc=0.7)
run.log_table("roc", {"fpr": [0, 0.5, 1], "tpr": [0, 0.8, 1]})
open("cm.png", "wb").write(b"\x89PNG fake")
run.log_image("confusion", path="cm.png")
run.tag("team", "vision")
run.upload_file("model.txt", "cm.png")
print("metrics seen by the script:", sorted(run.get_metrics()))
run.complete()
`

// TestAzureMLScriptThroughFerry: an unchanged Azure ML script runs under
// ferry run; ferry show and show --json list its metrics with their kinds,
// and ferry download brings back the logged image and uploaded file.
func TestAzureMLScriptThroughFerry(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	src := sourceDir(t, testutil.Tree{"train.py": amlTrain})
	r := c.mustRun(src, "run", "--experiment", "aml", "train.py")
	if !strings.Contains(r.Stdout, "metrics seen by the script: ['confusion', 'loss', 'lrs', 'optimizer', 'per_class', 'roc']") {
		t.Fatalf("script output:\n%s\n%s", r.Stdout, r.Stderr)
	}
	id := runIDOf(t, r.Stderr)
	text := c.mustRun(src, "show", id).Stdout
	for _, w := range []string{
		"metric loss", "0.2 (scalar series, last of 3)",
		"metric optimizer", `"adam" (scalar series, last of 1)`,
		"metric lrs", "list of 3: [0.1 0.01 0.001]",
		"metric per_class", "table of 2 rows (log_row): columns acc, cls",
		"metric roc", "table of 3 rows: columns fpr, tpr",
		"metric confusion", "image outputs/images/confusion.png",
		"tag team", "vision",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("ferry show lacks %q:\n%s", w, text)
		}
	}
	var rec struct {
		Metrics []struct {
			Name, Kind, Path, Text string
		} `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(c.mustRun(src, "show", "--json", id).Stdout), &rec); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, m := range rec.Metrics {
		kinds[m.Name] = m.Kind
	}
	want := map[string]string{"loss": "scalar", "optimizer": "scalar", "lrs": "list", "per_class": "row",
		"roc": "table", "confusion": "image", "team": "tag"}
	for n, k := range want {
		if kinds[n] != k {
			t.Errorf("show --json: %s has kind %q, want %q", n, kinds[n], k)
		}
	}
	dl := t.TempDir()
	c.mustRun(src, "download", id, "--to", dl)
	for _, f := range []string{"images/confusion.png", "model.txt"} {
		if _, err := os.Stat(filepath.Join(dl, f)); err != nil {
			t.Errorf("downloaded outputs: %v", err)
		}
	}
}
