package watch

import "testing"

func TestIsScratch(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"train.py", false},
		{"train.py~", true},
		{".train.py.swp", true},
		{".train.py.swo", true},
		{".train.py.swx", true},
		{"4913", true},
		{"5036", true},
		{"4914", false},
		{"1234", false},
		{".#train.py", true},
		{"#train.py#", true},
		{"train.py___jb_tmp___", true},
		{".train.py.tmp", true},
		{"data.tmp", false},
		{".gitignore", false},
		{"swp", false},
		{".swp", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isScratch(tt.name); got != tt.want {
				t.Errorf("isScratch(%q) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}
