package train

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/regcl/regcl/mnist/mnisttest"
	"github.com/regcl/regcl/model"
)

// TestStudyLaunches counts the kernel launches of one training step on
// OpenCL (PoCL here): of each preset's run alone, and of the default study
// (every method × 3 seeds) grouped by GroupKey, one backend a group. The
// study's launches per step, summed over its groups, must be at most twice
// the most one run takes (issue 20's acceptance line): the lanes make the
// work of every run one launch.
func TestStudyLaunches(t *testing.T) {
	dev := openCLDevice(t)
	data := mnisttest.Real(t)
	shared, err := UploadData(dev, data)
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	const steps = 3
	// launches is the launches a step of cfgs, trained as one group, takes.
	launches := func(cfgs []Config) float64 {
		t.Helper()
		be, err := dev.NewProfilingBackend(len(cfgs))
		if err != nil {
			t.Fatal(err)
		}
		defer be.Close()
		tr, err := NewGroup(be, cfgs, shared)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		if err := tr.TrainSteps(1); err != nil { // the epoch's setup (a permutation written) out of the count
			t.Fatal(err)
		}
		if _, err := be.KernelTimes(); err != nil {
			t.Fatal(err)
		}
		if err := tr.TrainSteps(steps); err != nil {
			t.Fatal(err)
		}
		kt, err := be.KernelTimes()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, k := range kt {
			n += k.Launches
		}
		// TrainSteps restarts the epoch: its gather of the permutation is
		// a write, not a launch, so every launch counted belongs to a step.
		return float64(n) / steps
	}
	var study []Config
	most := 0.0
	for _, m := range model.Methods {
		for seed := uint64(1); seed <= 3; seed++ {
			c, err := NewConfig(m, Overrides{Hidden: []int{32, 16}, TrainSize: num(2000), BatchSize: num(128)}, seed)
			if err != nil {
				t.Fatal(err)
			}
			study = append(study, c)
		}
		one := launches(study[len(study)-1:])
		t.Logf("%s alone: %.1f launches a step", m, one)
		most = max(most, one)
	}
	groups := map[string][]Config{}
	for _, c := range study {
		groups[GroupKey(c)] = append(groups[GroupKey(c)], c)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	total := 0.0
	for _, k := range keys {
		n := launches(groups[k])
		t.Logf("a group of %d runs (%s): %.1f launches a step", len(groups[k]), labels(groups[k]), n)
		total += n
	}
	t.Logf("the study (%d runs in %d groups): %.1f launches a step; one run at most %.1f (ratio %.2f)", len(study), len(groups), total, most, total/most)
	if len(groups) > 2 {
		t.Errorf("the default study makes %d groups, want at most 2", len(groups))
	}
	if total > 2*most {
		t.Errorf("the study takes %.1f launches a step, more than twice one run's %.1f", total, most)
	}
}

// labels lists the distinct methods of cfgs.
func labels(cfgs []Config) []string {
	var out []string
	for _, c := range cfgs {
		m, _, _ := strings.Cut(c.Label(), "+") // the method, without the test's overrides
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}
