package sweep

import (
	"github.com/regcl/regcl/train"
)

// Status counts a sweep's runs in an output folder.
type Status struct {
	Total, Done, Running, Missing int
	RunningIDs, MissingIDs        []string
}

// Count checks each run: done when its record is there and valid, running
// when a live task has marked it, missing otherwise.
func Count(runs []train.Config, out string) Status {
	s := Status{Total: len(runs)}
	for _, c := range runs {
		switch {
		case func() bool { _, err := train.ReadRecord(train.RecordPath(out, c)); return err == nil }():
			s.Done++
		case train.IsRunning(out, c):
			s.Running++
			s.RunningIDs = append(s.RunningIDs, c.ID())
		default:
			s.Missing++
			s.MissingIDs = append(s.MissingIDs, c.ID())
		}
	}
	return s
}
