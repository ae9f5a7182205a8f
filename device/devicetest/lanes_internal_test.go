package devicetest

import (
	"slices"
	"testing"
)

// TestLanesFor: the lane counts a case runs at, by its work, and as
// DEVICETEST_LANES narrows them.
func TestLanesFor(t *testing.T) {
	t.Setenv(LanesEnv, "")
	for _, c := range []struct {
		work int
		want []int
	}{{1, []int{1, 2, 3, 18}}, {work18, []int{1, 2, 3, 18}}, {work18 + 1, []int{1, 2, 3}}, {work3, []int{1, 2, 3}}, {work3 + 1, []int{2}}} {
		if got := lanesFor(t, c.work); !slices.Equal(got, c.want) {
			t.Errorf("lanesFor(%d) = %v, want %v", c.work, got, c.want)
		}
	}
	t.Setenv(LanesEnv, "1,3")
	if got := lanesFor(t, 1); !slices.Equal(got, []int{1, 3}) {
		t.Errorf("narrowed to 1,3: lanesFor(1) = %v", got)
	}
	if got := lanesFor(t, work3+1); !slices.Equal(got, []int{1}) {
		t.Errorf("narrowed to 1,3: lanesFor(work3+1) = %v, want [1] (its own count, 2, left out)", got)
	}
}
