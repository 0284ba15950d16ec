package runconfig

import (
	"slices"
	"testing"
)

// TestArgumentsStringified checks script arguments come out as Azure ML
// passes them: Python's str() of what ruamel.yaml (YAML 1.2) loads.
func TestArgumentsStringified(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"--lr", "--lr"},
		{"0.01", "0.01"},
		{"1.50", "1.5"},
		{"1e3", "1000.0"},
		{"1.0e-5", "1e-05"},
		{"0.0001", "0.0001"},
		{"1e16", "1e+16"},
		{"1e15", "1000000000000000.0"},
		{"-0.0", "-0.0"},
		{"1.", "1.0"},
		{".5", "0.5"},
		{"-.5", "-.5"}, // not a float in YAML 1.2: a string
		{".inf", "inf"},
		{"-.Inf", "-inf"},
		{".NaN", "nan"},
		{"10", "10"},
		{"-7", "-7"},
		{"+3", "3"},
		{"007", "7"},
		{"0x1F", "31"},
		{"0o17", "15"},
		{"0b101", "5"},
		{"1_000", "1000"},
		{"123456789012345678901234567890", "123456789012345678901234567890"},
		{"true", "True"},
		{"False", "False"},
		{"TRUE", "True"},
		{"yes", "yes"}, // YAML 1.1 only
		{"on", "on"},
		{"~", "None"},
		{"null", "None"},
		{"", "None"},
		{"'007'", "007"},
		{`"true"`, "true"},
		{"!!str 10", "10"},
		{"2024-01-02", "2024-01-02"},
		{"a b", "a b"},
		{"v1.2.3", "v1.2.3"},
		{"1.2.3", "1.2.3"},
		{"--epochs=10", "--epochs=10"},
	}
	for _, tt := range tests {
		rc, _, err := Parse([]byte("script: t.py\narguments:\n- " + tt.yaml + "\n"))
		if err != nil {
			t.Errorf("%q: %v", tt.yaml, err)
			continue
		}
		if !slices.Equal(rc.Arguments, []string{tt.want}) {
			t.Errorf("argument %q = %q, want %q", tt.yaml, rc.Arguments, tt.want)
		}
	}
}
