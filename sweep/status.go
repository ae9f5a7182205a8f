package sweep

import (
	"github.com/regcl/regcl/study"
	"github.com/regcl/regcl/train"
)

// Status counts a sweep's runs in a study folder.
type Status struct {
	Total, Done, Running, Missing int
	RunningRuns, MissingRuns      []train.Config
	Owners                        []*study.Owner // of RunningRuns, in order
}

// Count asks the study folder about each run: done when it has the run's
// record, running when a live process holds its claim, missing otherwise
// (a stale claim, whose owner is gone, counts as missing: the next task
// that reaches the run takes it over).
func Count(runs []train.Config, d *study.Dir) Status {
	s := Status{Total: len(runs)}
	for _, c := range runs {
		if d.Done(c) {
			s.Done++
		} else if o, ok := d.Claimed(c); ok {
			s.Running++
			s.RunningRuns = append(s.RunningRuns, c)
			s.Owners = append(s.Owners, o)
		} else {
			s.Missing++
			s.MissingRuns = append(s.MissingRuns, c)
		}
	}
	return s
}
