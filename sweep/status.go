package sweep

import (
	"github.com/regcl/regcl/study"
	"github.com/regcl/regcl/train"
)

// Status counts a sweep's runs in a study folder.
type Status struct {
	Total, Done, Running, Missing int
	RunningRuns, MissingRuns      []train.Config
}

// Count asks the study folder about each run: done when it has the run's
// record, running when a live task has marked it, missing otherwise.
func Count(runs []train.Config, d *study.Dir) Status {
	s := Status{Total: len(runs)}
	for _, c := range runs {
		switch {
		case d.Done(c):
			s.Done++
		case d.Running(c):
			s.Running++
			s.RunningRuns = append(s.RunningRuns, c)
		default:
			s.Missing++
			s.MissingRuns = append(s.MissingRuns, c)
		}
	}
	return s
}
