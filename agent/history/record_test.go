package history

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRecordJSONShow: show's JSON has the contract's fields, its metrics
// streamed from the store, and masks secrets.
func TestRecordJSONShow(t *testing.T) {
	s, _ := openTest(t)
	r := fullRecord()
	if err := s.Put(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMetrics(r.ID, strings.NewReader(`{"name":"loss","kind":"scalar","value":0.25,"step":7}`+"\n"+`{"name":"acc","value":0.9}`+"\n")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.WriteShowJSON(t.Context(), &buf, r); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "status", "exit_code", "compute", "experiment", "snapshot", "environment",
		"git", "metrics", "created_at", "started_at", "ended_at", "script", "args"} {
		if _, ok := m[k]; !ok {
			t.Errorf("show JSON lacks %q: %s", k, b)
		}
	}
	if ms, _ := m["metrics"].([]any); len(ms) != 2 || ms[1].(map[string]any)["name"] != "acc" {
		t.Errorf("metrics = %v", m["metrics"])
	}
	if m["exit_code"] != 3.0 || m["status"] != "Failed" {
		t.Errorf("exit_code %v status %v", m["exit_code"], m["status"])
	}
	for _, k := range []string{"created_at", "started_at", "ended_at"} {
		if _, err := time.Parse(time.RFC3339, m[k].(string)); err != nil {
			t.Errorf("%s = %v is not RFC 3339: %v", k, m[k], err)
		}
	}
	git := m["git"].(map[string]any)
	if git["commit"] != "c0ffee" || git["dirty"] != true || git["repository"] != "https://github.com/o/r" {
		t.Errorf("git = %v", git)
	}
	if env := m["environment"].(map[string]any); env["kind"] != "conda" || env["key"] != "k1" {
		t.Errorf("environment = %v", env)
	}
	vars := m["env"].(map[string]any)
	if vars["HF_TOKEN"] != Redacted || vars["SEED"] != "1" {
		t.Errorf("env = %v, want HF_TOKEN masked and SEED shown", vars)
	}
	if strings.Contains(string(b), "hf_secret") {
		t.Errorf("JSON leaks a secret value: %s", b)
	}
	if r.Env["HF_TOKEN"] != "hf_secret" {
		t.Error("MarshalJSON modified the record's Env")
	}
}

func TestRecordJSONQueued(t *testing.T) {
	r := Record{ID: "x", Status: "Queued", CreatedAt: time.Unix(1700000000, 0).UTC()}
	b, err := json.Marshal([]Record{r})
	if err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	m := list[0]
	want := map[string]any{"exit_code": nil, "git": nil, "started_at": nil, "ended_at": nil,
		"args": []any{}, "created_at": "2023-11-14T22:13:20Z", "experiment": "", "compute": ""}
	for k, v := range want {
		got, ok := m[k]
		if !ok {
			t.Errorf("runs JSON lacks %q", k)
			continue
		}
		if gb, _ := json.Marshal(got); string(gb) != mustJSON(v) {
			t.Errorf("%s = %s, want %s", k, gb, mustJSON(v))
		}
	}
	if _, ok := m["env"]; ok {
		t.Error("empty env should be omitted")
	}
	if _, ok := m["metrics"]; ok {
		t.Error("runs JSON carries metrics; show --json has them")
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestSecretName(t *testing.T) {
	secret := []string{"HF_TOKEN", "WANDB_API_KEY", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "OPENAI_APIKEY",
		"GITHUB_PAT", "AZURE_STORAGE_CONNECTION_STRING", "hf_token", "MY_AUTH", "SSH_PRIVATE_KEY_PATH", "KEY"}
	plain := []string{"SEED", "EPOCHS", "KEYBOARD_LAYOUT", "PATH", "CUDA_VISIBLE_DEVICES", "PWD", "AUTHOR", "PATIENCE"}
	for _, n := range secret {
		if !SecretName(n) {
			t.Errorf("SecretName(%q) = false", n)
		}
	}
	for _, n := range plain {
		if SecretName(n) {
			t.Errorf("SecretName(%q) = true", n)
		}
	}
	r := Record{Env: map[string]string{"HF_TOKEN": "x", "SEED": "1"}}
	got := r.RedactedEnv()
	if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, []string{"HF_TOKEN", "SEED"}) || got["HF_TOKEN"] != Redacted {
		t.Errorf("RedactedEnv = %v", got)
	}
}
