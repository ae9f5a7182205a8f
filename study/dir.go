package study

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"

	"github.com/regcl/regcl/internal/readfile"
	"github.com/regcl/regcl/internal/writable"
	"github.com/regcl/regcl/train"
)

// The names inside a study folder (see the package documentation).
const (
	RecordsDir     = "runs"
	RunningDir     = "running" // the claims of runs in progress
	CheckpointsDir = "checkpoints"
	SweepDir       = "sweep"
	SlurmDir       = "slurm"
	AssetsDir      = "assets"
	SummaryCSV     = "results_summary.csv"
	ComparisonCSV  = "comparison.csv"
	ReportMD       = "report.md"
)

// Dir is a study folder. Its methods may be called from several goroutines.
type Dir struct {
	path string

	mu sync.Mutex
	// Records and checkpoint folders under the names of older regcl versions,
	// by the ID of the configuration they hold; built on first need.
	legacyRecords, legacyCheckpoints map[string]string
}

// Open returns the study folder at path (which need not exist yet).
func Open(path string) *Dir { return &Dir{path: path} }

// Path is the folder.
func (d *Dir) Path() string { return d.path }

func (d *Dir) join(elem ...string) string { return filepath.Join(append([]string{d.path}, elem...)...) }

// RecordsDir is the folder of the run records.
func (d *Dir) RecordsDir() string { return d.join(RecordsDir) }

// RecordPath is where the record of cfg's run goes.
func (d *Dir) RecordPath(cfg train.Config) string { return d.join(RecordsDir, cfg.ID()+".json") }

// HistoryPath is where a single run (SingleRun) writes the history of cfg's
// run; a study's runs keep theirs in their records.
func (d *Dir) HistoryPath(cfg train.Config) string { return d.join(cfg.ID() + "_history.csv") }

// CheckpointDir is where cfg's run keeps its checkpoints while unfinished.
func (d *Dir) CheckpointDir(cfg train.Config) string { return d.join(CheckpointsDir, cfg.ID()) }

// CheckpointsDir is the folder of every unfinished run's checkpoints.
func (d *Dir) CheckpointsDir() string { return d.join(CheckpointsDir) }

// GridCopy is where the copy of a grid with the given content hash goes.
func (d *Dir) GridCopy(hash string) string { return d.join(SweepDir, "grid-"+hash+".yaml") }

// SweepScript is the sbatch script of the folder's sweep.
func (d *Dir) SweepScript() string { return d.join(SweepDir, "sweep.sbatch") }

// SlurmDir holds the logs of a job array's tasks.
func (d *Dir) SlurmDir() string { return d.join(SlurmDir) }

// SlurmLogPattern is sbatch's --output for the tasks of a job array.
func (d *Dir) SlurmLogPattern() string { return d.join(SlurmDir, "%A_%a.out") }

// AssetsDir holds the report's plots.
func (d *Dir) AssetsDir() string { return d.join(AssetsDir) }

// SummaryCSV, ComparisonCSV and ReportMD are the report's files.
func (d *Dir) SummaryCSV() string    { return d.join(SummaryCSV) }
func (d *Dir) ComparisonCSV() string { return d.join(ComparisonCSV) }
func (d *Dir) ReportMD() string      { return d.join(ReportMD) }

// MaxRecord bounds a run record: one holds a run's settings and history,
// about 10 kB for 20 epochs.
const MaxRecord = 16 << 20

// currentName matches the record and checkpoint names this version writes,
// "<12 hex digits>-s<seed>"; anything else is an older version's name.
var currentName = regexp.MustCompile(`^[0-9a-f]{12}-s[0-9]+$`)

// ReadRecord reads one run record, normalized: a record of an older regcl
// version gets its preset and overrides (from the settings it holds) and its
// current ID.
func ReadRecord(path string) (*train.Result, error) {
	b, err := readfile.Max(path, MaxRecord, "a run record")
	if err != nil {
		return nil, err
	}
	var r train.Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.ID == "" || len(r.History) == 0 {
		return nil, fmt.Errorf("%s: not a finished run record", path)
	}
	r.Config = r.Config.Normalize()
	r.ID = r.Config.ID()
	return &r, nil
}

// Record returns the record of cfg's run: under its name, or under an older
// version's name for the same configuration. It returns an error wrapping
// fs.ErrNotExist when the run has none.
func (d *Dir) Record(cfg train.Config) (*train.Result, error) {
	if r, err := ReadRecord(d.RecordPath(cfg)); err == nil {
		return r, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if p := d.legacyRecord(cfg.ID()); p != "" {
		return ReadRecord(p)
	}
	return nil, fmt.Errorf("no record of %s seed %d (%s) in %s: %w", cfg.Label(), cfg.Seed, cfg.ID(), d.RecordsDir(), fs.ErrNotExist)
}

// Done reports whether cfg's run is finished: its record is there and whole.
func (d *Dir) Done(cfg train.Config) bool {
	_, err := d.Record(cfg)
	return err == nil
}

// singleRecordPaths lists the records an older `regcl train` wrote beside
// its results CSV, DIR/<id>.json, in name order.
func (d *Dir) singleRecordPaths() []string {
	paths, _ := filepath.Glob(filepath.Join(d.path, "*.json"))
	var out []string
	for _, p := range paths {
		if currentName.MatchString(stem(p)) {
			out = append(out, p)
		}
	}
	return out
}

// recordPaths lists the record files, in name order.
func (d *Dir) recordPaths() ([]string, error) {
	return filepath.Glob(filepath.Join(d.RecordsDir(), "*.json"))
}

func (d *Dir) legacyRecord(id string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.legacyRecords == nil {
		d.legacyRecords = map[string]string{}
		paths, _ := d.recordPaths()
		var old []string
		for _, p := range paths {
			if !currentName.MatchString(stem(p)) {
				old = append(old, p)
			}
		}
		for _, p := range append(old, d.singleRecordPaths()...) {
			if r, err := ReadRecord(p); err == nil {
				if _, ok := d.legacyRecords[r.ID]; !ok {
					d.legacyRecords[r.ID] = p
				}
			}
		}
	}
	return d.legacyRecords[id]
}

func stem(path string) string {
	b := filepath.Base(path)
	return b[:len(b)-len(filepath.Ext(b))]
}

// Records reads every run record of the folder, normalized (see ReadRecord),
// one per run: when an older version recorded the same run twice under two
// labels, the record under the current name is kept, else the first by
// name; records an older `regcl train` wrote beside its results CSV
// (DIR/<id>.json) come last. Records are in name order. An error names the folder or the record
// at fault; a folder without records gives none and no error.
func (d *Dir) Records() ([]*train.Result, error) {
	if st, err := os.Stat(d.path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("study folder %s does not exist", d.path)
	} else if err != nil {
		return nil, fmt.Errorf("reading run records: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("reading run records: %s is not a folder", d.path)
	}
	paths, err := d.recordPaths()
	if err != nil {
		return nil, err
	}
	var out []*train.Result
	at := map[string]int{} // ID → index in out
	for _, p := range paths {
		r, err := ReadRecord(p)
		if err != nil {
			return nil, fmt.Errorf("reading run records: %w", err)
		}
		if i, dup := at[r.ID]; dup {
			if stem(p) == r.ID {
				out[i] = r
			}
			continue
		}
		at[r.ID] = len(out)
		out = append(out, r)
	}
	for _, p := range d.singleRecordPaths() {
		r, err := ReadRecord(p)
		if err != nil {
			return nil, fmt.Errorf("reading run records: %w", err)
		}
		if _, dup := at[r.ID]; !dup {
			at[r.ID] = len(out)
			out = append(out, r)
		}
	}
	return out, nil
}

// legacyCheckpoint returns the checkpoint folder an older version left for
// the run with this ID, or "".
func (d *Dir) legacyCheckpoint(id string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.legacyCheckpoints == nil {
		d.legacyCheckpoints = map[string]string{}
		ents, _ := os.ReadDir(d.CheckpointsDir())
		sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
		for _, e := range ents {
			if !e.IsDir() || currentName.MatchString(e.Name()) {
				continue
			}
			dir := filepath.Join(d.CheckpointsDir(), e.Name())
			f, _, err := train.LoadCheckpoint(dir, nil)
			if err != nil {
				continue
			}
			if c, err := train.TrainConfigOf(f); err == nil {
				if _, ok := d.legacyCheckpoints[c.ID()]; !ok {
					d.legacyCheckpoints[c.ID()] = dir
				}
			}
		}
	}
	return d.legacyCheckpoints[id]
}

// resumeFrom returns the checkpoint folder cfg's run continues from, or ""
// for a fresh start: its own, or one an older version left under another
// name, which is moved to the run's own name first (when that fails, the run
// continues in the old folder).
func (d *Dir) resumeFrom(cfg train.Config, note func(string)) string {
	ck := d.CheckpointDir(cfg)
	if _, _, err := train.LoadCheckpoint(ck, nil); err == nil {
		return ck
	}
	old := d.legacyCheckpoint(cfg.ID())
	if old == "" {
		return ""
	}
	if _, err := os.Stat(ck); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(old, ck); err == nil {
			note(fmt.Sprintf("checkpoints of %s seed %d: %s (an older regcl's name) moved to %s", cfg.Label(), cfg.Seed, old, ck))
			d.mu.Lock()
			delete(d.legacyCheckpoints, cfg.ID())
			d.mu.Unlock()
			return ck
		}
	}
	return old
}

// CheckWritable checks, before any work, that the folder can receive
// everything a study writes into it: the folder itself, its subfolders
// (runs/, checkpoints/, running/, assets/, sweep/, slurm/) and the report's
// files. It writes nothing that stays.
func (d *Dir) CheckWritable() error {
	if err := writable.Dir(d.path); err != nil {
		return err
	}
	for _, sub := range []string{RecordsDir, CheckpointsDir, RunningDir, AssetsDir, SweepDir, SlurmDir} {
		if _, err := os.Lstat(d.join(sub)); err == nil {
			if err := writable.Dir(d.join(sub)); err != nil {
				return err
			}
		}
	}
	for _, f := range []string{d.SummaryCSV(), d.ComparisonCSV(), d.ReportMD()} {
		if err := writable.File(f, false); err != nil {
			return err
		}
	}
	return nil
}
