package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/internal/testutil"
)

// amlScript is an Azure ML v1 training script, unchanged: it imports Run
// both ways and uses the API surface the shim covers.
const amlScript = `import os, sys
from azureml.core import Run
from azureml.core.run import Run as Run2
assert Run is Run2
run = Run.get_context(allow_offline=True)
print("ID=" + run.id + " EXP=" + run.experiment.name)
run.log("loss", 0.5)
run.log("loss", 0.25)
run.log("optimizer", "adam")
run.log_list("lrs", [0.1, 0.01])
run.log_row("per_class", cls="cat", acc=0.9)
run.log_row("per_class", cls="dog", acc=0.8)
run.log_table("curve", {"x": [1, 2], "y": [3, 4]})
open("pic.png", "wb").write(b"\x89PNG")
run.log_image("confusion", path="pic.png")
run.tag("team", "vision")
run.set_tags({"stage": "dev"})
print("TAGS=" + repr(sorted(run.get_tags().items())))
m = run.get_metrics()
print("LOSS=" + repr(m["loss"]) + " OPT=" + m["optimizer"] + " ROWS=" + repr(m["per_class"]["cls"]))
os.makedirs("folder/sub", exist_ok=True)
open("folder/sub/a.txt", "w").write("a")
run.upload_file("model/weights.bin", "pic.png")
run.upload_folder("copied", "folder")
run.complete()
import azureml.core
print("SHIM=" + str(getattr(azureml.core, "__ferry_shim__", False)))
`

func TestAzureMLScriptUnchanged(t *testing.T) {
	e := newEnv(t, map[string]testutil.Tree{"s": {"train.py": amlScript}})
	run := e.submit(api.RunSpec{Snapshot: "s", Script: "train.py", Experiment: "mnist"})
	got := e.wait(run.Spec.ID)
	log := string(e.readLog(run.Spec.ID, 0, false))
	if got.Status != api.StatusCompleted {
		t.Fatalf("status %s (%s), log:\n%s", got.Status, got.Reason, log)
	}
	for _, w := range []string{
		"ID=" + run.Spec.ID + " EXP=mnist",
		"TAGS=[('stage', 'dev'), ('team', 'vision')]",
		"LOSS=[0.5, 0.25] OPT=adam ROWS=['cat', 'dog']",
		"SHIM=True",
	} {
		if !strings.Contains(log, w+"\n") {
			t.Errorf("log lacks %q:\n%s", w, log)
		}
	}
	kinds := map[string]string{}
	for _, m := range e.metrics(run.Spec.ID) {
		kinds[m.Name] = m.Kind
	}
	want := map[string]string{"loss": "scalar", "optimizer": "scalar", "lrs": "list", "per_class": "row",
		"curve": "table", "confusion": "image", "team": "tag", "stage": "tag"}
	for n, k := range want {
		if kinds[n] != k {
			t.Errorf("metric %s kind %q, want %q (all: %v)", n, kinds[n], k, kinds)
		}
	}
	out := filepath.Join(got.Dir, "work", "outputs")
	for _, f := range []string{"images/confusion.png", "model/weights.bin", "copied/sub/a.txt"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("outputs/%s: %v", f, err)
		}
	}
}

// TestAzureMLRealPackageWins: an azureml.core the run's environment
// provides (here a package in the snapshot) is the one imported.
func TestAzureMLRealPackageWins(t *testing.T) {
	e := newEnv(t, map[string]testutil.Tree{"s": {
		"train.py":                 "from azureml.core import Run\nprint('REAL=' + str(Run.REAL))\n",
		"azureml/__init__.py":      "",
		"azureml/core/__init__.py": "class Run:\n    REAL = True\n",
	}})
	run := e.submit(api.RunSpec{Snapshot: "s", Script: "train.py"})
	got := e.wait(run.Spec.ID)
	if log := string(e.readLog(run.Spec.ID, 0, false)); got.Status != api.StatusCompleted || !strings.Contains(log, "REAL=True\n") {
		t.Fatalf("status %s, log:\n%s", got.Status, log)
	}
}
