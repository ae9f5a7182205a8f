package plural

import "testing"

// TestCount: 1 (and −1) take the singular, every other count the plural,
// 0 included ("0 runs").
func TestCount(t *testing.T) {
	for n, want := range map[int]string{
		-2: "-2 runs", -1: "-1 run", 0: "0 runs", 1: "1 run", 2: "2 runs", 11: "11 runs",
	} {
		if got := Count(n, "run", "runs"); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
	if got := Word(1, "batch", "batches") + " " + Word(3, "batch", "batches"); got != "batch batches" {
		t.Errorf("irregular plural: %q", got)
	}
}
