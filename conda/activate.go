package conda

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ferry-ml/ferry/internal/tailbuf"
)

// activateScript sources the prefix's activate.d scripts in name order, as
// "conda activate" does (conda/activate.py, micromamba's activation.cpp),
// with their output kept off stdout, then prints the resulting environment
// NUL-separated.
const activateScript = `for f in "$CONDA_PREFIX"/etc/conda/activate.d/*.sh; do
	[ -f "$f" ] && . "$f"
done >&2
exec env -0`

// Activation returns the variables "conda activate" sets for prefix, in
// order, on top of environ: PATH with the prefix's bin first, CONDA_PREFIX,
// CONDA_DEFAULT_ENV (the prefix path, as for an environment activated by
// prefix), CONDA_SHLVL, the variables of etc/conda/env_vars.d/*.json
// (merged in name order), the spec's variables (PATH among them is
// reserved and skipped, as conda 26 does), and whatever the prefix's
// etc/conda/activate.d/*.sh scripts set when sourced (openjdk's sets
// JAVA_HOME, gdal's GDAL_DATA). The scripts run only when there are some.
func Activation(ctx context.Context, prefix string, environ []string, variables map[string]string) ([][2]string, error) {
	bin := filepath.Join(prefix, "bin")
	vars := [][2]string{
		{"PATH", bin + string(os.PathListSeparator) + lookup(environ, "PATH")},
		{"CONDA_PREFIX", prefix},
		{"CONDA_DEFAULT_ENV", prefix},
		{"CONDA_SHLVL", "1"},
	}
	fromFiles, err := envVarsD(prefix)
	if err != nil {
		return nil, err
	}
	vars = append(vars, fromFiles...)
	vars = append(vars, SortedVariables(variables)...)
	scripts, _ := filepath.Glob(filepath.Join(prefix, "etc", "conda", "activate.d", "*.sh"))
	if len(scripts) == 0 {
		return vars, nil
	}
	return sourceScripts(ctx, environ, vars)
}

// SortedVariables returns a spec's variables sorted by name, leaving out
// PATH, which conda reserves (Spec.Warnings says so).
func SortedVariables(variables map[string]string) [][2]string {
	names := make([]string, 0, len(variables))
	for k := range variables {
		if !reservedVariable(k) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	out := make([][2]string, 0, len(names))
	for _, k := range names {
		out = append(out, [2]string{k, variables[k]})
	}
	return out
}

// reservedVariable reports a variable conda refuses to set from a spec.
func reservedVariable(name string) bool { return strings.EqualFold(name, "PATH") }

// envVarsD reads etc/conda/env_vars.d/*.json in name order, later files
// overriding earlier ones (conda's activate.py _get_environment_env_vars).
func envVarsD(prefix string) ([][2]string, error) {
	files, _ := filepath.Glob(filepath.Join(prefix, "etc", "conda", "env_vars.d", "*.json"))
	merged := map[string]string{}
	var order []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read activation variables: %w", err)
		}
		var m map[string]string
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("read activation variables %s: %w", filepath.Base(f), err)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if _, seen := merged[k]; !seen {
				order = append(order, k)
			}
			merged[k] = m[k]
		}
	}
	out := make([][2]string, 0, len(order))
	for _, k := range order {
		out = append(out, [2]string{k, merged[k]})
	}
	return out, nil
}

// sourceScripts runs activateScript in sh with environ plus vars and
// returns vars followed by every variable the scripts added or changed.
func sourceScripts(ctx context.Context, environ []string, vars [][2]string) ([][2]string, error) {
	env := overlay(environ, vars)
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", activateScript)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tail := tailbuf.New(maxTail)
		tail.Write(stderr.Bytes())
		return nil, fmt.Errorf("source activate.d scripts: %w\n%s", err, tail.String())
	}
	before := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		before[k] = v
	}
	var changed [][2]string
	for _, kv := range strings.Split(string(out), "\x00") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || k == "PWD" || k == "SHLVL" || k == "_" {
			continue
		}
		if old, had := before[k]; !had || old != v {
			changed = append(changed, [2]string{k, v})
		}
	}
	sort.Slice(changed, func(i, j int) bool { return changed[i][0] < changed[j][0] })
	return append(vars, changed...), nil
}

// overlay returns environ with vars set (later entries win).
func overlay(environ []string, vars [][2]string) []string {
	out := make([]string, 0, len(environ)+len(vars))
	set := map[string]bool{}
	for _, kv := range vars {
		set[kv[0]] = true
	}
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); !set[k] {
			out = append(out, kv)
		}
	}
	for _, kv := range vars {
		out = append(out, kv[0]+"="+kv[1])
	}
	return out
}

// lookup is environ's value of name.
func lookup(environ []string, name string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}
