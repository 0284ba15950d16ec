package agent

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestPlanJSONMasksSecrets: --dry-run --json masks secret-named --env
// values as text mode does; the plan itself keeps them for the run.
func TestPlanJSONMasksSecrets(t *testing.T) {
	p := Plan{ID: "r", Env: map[string]string{"HF_TOKEN": "hf_secret123", "WANDB_API_KEY": "k-456", "LR": "0.1"}}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"hf_secret123", "k-456"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("plan JSON shows secret %q: %s", secret, b)
		}
	}
	var got struct {
		Env map[string]string `json:"environment_variables"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Env["LR"] != "0.1" || got.Env["HF_TOKEN"] != "***" {
		t.Errorf("environment_variables = %v", got.Env)
	}
	if p.RunSpec("s").Env["HF_TOKEN"] != "hf_secret123" {
		t.Error("the run lost the secret's real value")
	}
}
