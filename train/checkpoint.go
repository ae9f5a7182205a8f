package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/model"
)

// checkpointMeta is the training state a checkpoint holds besides tensors.
// The random generators are pure functions of (seed, epoch) and (seed, step),
// so the counters are their whole state.
type checkpointMeta struct {
	Config       Config         `json:"config"`
	Epoch        int            `json:"epoch"`      // epochs completed
	Step         uint64         `json:"step"`       // optimizer steps completed
	EpochStep    int            `json:"epoch_step"` // steps done inside the interrupted epoch (0 at an epoch's end)
	EpochAcc     []float64      `json:"epoch_acc,omitempty"`
	EpochElapsed float64        `json:"epoch_elapsed,omitempty"`
	History      []EpochMetrics `json:"history"`
	// Outputs are where the run was told to write its results (absolute),
	// so that a run resumed from the checkpoint writes them there too; nil
	// in an older regcl's checkpoint.
	Outputs *Outputs `json:"outputs,omitempty"`
}

// Outputs are the paths a command gave a run for its results.
type Outputs struct {
	CSV  string `json:"csv"`            // the results CSV (regcl train --output); "" for none
	Save string `json:"save,omitempty"` // the model file (--save)
}

// modelMeta is what a model file (--save) records of its training.
type modelMeta struct {
	Config  Config         `json:"config"`
	History []EpochMetrics `json:"history"`
}

const (
	adamM = "adam/m/"
	adamV = "adam/v/"
)

// CheckpointFile returns the model.File of lane's whole state: weights,
// BatchNorm statistics, Adam moments and step, epoch and position inside
// it, and the history so far: the checkpoint of the lane's run, as the run
// trained alone would write it.
func (t *Trainer) CheckpointFile(lane int) (*model.File, error) { return t.checkpointFile(lane, nil) }

// checkpointFile is CheckpointFile, recording out when it is set.
func (t *Trainer) checkpointFile(lane int, out *Outputs) (*model.File, error) {
	ts, err := t.Net.Snapshot(lane)
	if err != nil {
		return nil, err
	}
	for _, p := range t.Net.Params() {
		for _, mv := range []struct {
			prefix string
			buf    device.Buffer
		}{{adamM, t.Opt.M}, {adamV, t.Opt.V}} {
			ft := model.FileTensor{Name: mv.prefix + p.Name, Shape: append([]int(nil), p.Shape...), Data: make([]float32, p.Len())}
			if err := t.be.Read(mv.buf, lane, p.Off, ft.Data); err != nil {
				return nil, err
			}
			ts = append(ts, ft)
		}
	}
	cfg := t.Cfgs[lane]
	meta := checkpointMeta{Config: cfg, Epoch: t.Epoch, Step: t.Step, EpochStep: t.epochStep,
		EpochElapsed: t.epochElapsed, History: t.History[lane], Outputs: out}
	switch {
	case t.epochStep >= t.Steps() && t.epochAcc != nil:
		// Interrupted in the validation, which has reused the device's
		// accumulators: the training sums were kept on the host.
		meta.EpochAcc = t.epochAcc[lane]
	case t.epochStep > 0:
		if meta.EpochAcc, err = t.readAcc(lane); err != nil {
			return nil, err
		}
	}
	mb, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	return &model.File{Kind: "checkpoint", Config: cfg.Model, Meta: mb, Tensors: ts}, nil
}

// ModelFile returns lane's trained network as a model file.
func (t *Trainer) ModelFile(lane int) (*model.File, error) {
	ts, err := t.Net.Snapshot(lane)
	if err != nil {
		return nil, err
	}
	cfg := t.Cfgs[lane]
	mb, err := json.Marshal(modelMeta{Config: cfg, History: t.History[lane]})
	if err != nil {
		return nil, err
	}
	return &model.File{Kind: "model", Config: cfg.Model, Meta: mb, Tensors: ts}, nil
}

// TrainConfigOf returns the training configuration recorded in a model or
// checkpoint file, normalized (an older regcl's file has only a label).
func TrainConfigOf(f *model.File) (Config, error) {
	var m modelMeta
	if err := json.Unmarshal(f.Meta, &m); err != nil {
		return Config{}, fmt.Errorf("%w: meta: %v", model.ErrModelFile, err)
	}
	m.Config.Model = f.Config
	return m.Config.Normalize(), nil
}

// Restore loads a checkpoint into a trainer of one run made with the
// checkpoint's configuration.
func (t *Trainer) Restore(f *model.File) error {
	return t.RestoreLanes([]*model.File{f})
}

// RestoreLanes loads fs[l] into lane l, a trainer made with the
// checkpoints' configurations; a nil file leaves its lane as it is (a run
// that starts afresh). Every checkpoint, and every fresh lane, must stand
// at the same position (PositionOf): the lanes of a group train in step.
func (t *Trainer) RestoreLanes(fs []*model.File) error {
	if len(fs) != len(t.Cfgs) {
		return fmt.Errorf("%d checkpoints for %d runs", len(fs), len(t.Cfgs))
	}
	metas := make([]*checkpointMeta, len(fs))
	var pos *checkpointMeta
	posLane := -1
	for l, f := range fs {
		meta := &checkpointMeta{} // a fresh run: at the start
		if f != nil {
			if f.Kind != "checkpoint" {
				return fmt.Errorf("%w: a %s file, not a checkpoint", model.ErrModelFile, f.Kind)
			}
			if err := json.Unmarshal(f.Meta, meta); err != nil {
				return fmt.Errorf("%w: checkpoint meta: %v", model.ErrModelFile, err)
			}
			// EpochStep == Steps: every step of the epoch done, its
			// validation not (interrupted there).
			if meta.EpochStep < 0 || meta.EpochStep > t.Steps() || meta.Epoch < 0 || meta.Epoch > t.Cfg.Epochs ||
				(meta.EpochStep > 0 && (len(meta.EpochAcc) != device.AccLen || meta.Epoch == t.Cfg.Epochs)) || len(meta.History) != meta.Epoch {
				return fmt.Errorf("%w: checkpoint position (epoch %d, step %d of %d) is inconsistent", model.ErrModelFile, meta.Epoch, meta.EpochStep, t.Steps())
			}
		}
		metas[l] = meta
		if pos == nil {
			pos, posLane = meta, l
		} else if meta.Epoch != pos.Epoch || meta.EpochStep != pos.EpochStep || meta.Step != pos.Step {
			return fmt.Errorf("run %d stands at epoch %d, step %d (global step %d) and run %d at epoch %d, step %d (global step %d): the runs of a group must stand at one position",
				posLane+1, pos.Epoch, pos.EpochStep, pos.Step, l+1, meta.Epoch, meta.EpochStep, meta.Step)
		}
	}
	var accs [][]float64
	if pos.EpochStep > 0 {
		accs = make([][]float64, len(fs))
	}
	for l, f := range fs {
		if f == nil {
			if accs != nil {
				accs[l] = []float64{0, 0, -1, 0}
			}
			continue
		}
		if err := t.Net.Restore(l, f.Tensors); err != nil {
			return err
		}
		for _, p := range t.Net.Params() {
			for _, mv := range []struct {
				prefix string
				buf    device.Buffer
			}{{adamM, t.Opt.M}, {adamV, t.Opt.V}} {
				ft := f.Tensor(mv.prefix + p.Name)
				if ft == nil || !slices.Equal(ft.Shape, p.Shape) {
					return fmt.Errorf("%w: checkpoint lacks %s%s of shape %v", model.ErrModelFile, mv.prefix, p.Name, p.Shape)
				}
				if err := t.be.Write(mv.buf, l, p.Off, ft.Data); err != nil {
					return err
				}
			}
		}
		t.History[l] = metas[l].History
		if accs != nil {
			accs[l] = metas[l].EpochAcc
		}
	}
	t.Epoch, t.Step = pos.Epoch, pos.Step
	t.epochStep, t.epochAcc, t.epochElapsed = pos.EpochStep, accs, pos.EpochElapsed
	return nil
}

// Checkpoints in a folder are named by the global step, so names sort in
// training order.
const checkpointPrefix, checkpointExt = "ckpt-", ".regcl"

func checkpointName(step uint64) string {
	return fmt.Sprintf("%s%012d%s", checkpointPrefix, step, checkpointExt)
}

// listCheckpoints returns the checkpoint files in dir, newest first.
func listCheckpoints(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if !e.IsDir() && strings.HasPrefix(n, checkpointPrefix) && strings.HasSuffix(n, checkpointExt) {
			out = append(out, filepath.Join(dir, n))
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out, nil
}

// SaveCheckpoint writes lane's state into dir atomically and keeps only
// the newest keep checkpoints there.
func (t *Trainer) SaveCheckpoint(lane int, dir string, keep int) (string, error) {
	return t.saveCheckpoint(lane, dir, keep, nil)
}

// saveCheckpoint is SaveCheckpoint, recording out in the checkpoint. Of the
// checkpoints older than the one it writes it keeps the newest keep−1; a
// checkpoint of a later step is left alone (a damaged one a fresh run
// started beside: pruned as "older", the new one would go).
func (t *Trainer) saveCheckpoint(lane int, dir string, keep int, out *Outputs) (string, error) {
	f, err := t.checkpointFile(lane, out)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, checkpointName(t.Step))
	if err := model.WriteFile(path, f); err != nil {
		return "", err
	}
	// A process killed in the middle of an earlier write left its temporary
	// file; one folder has one writer, so any other is stale.
	if stale, _ := filepath.Glob(filepath.Join(dir, "."+checkpointPrefix+"*"+checkpointExt+".tmp*")); len(stale) > 0 {
		for _, s := range stale {
			os.Remove(s)
		}
	}
	all, err := listCheckpoints(dir)
	if err != nil {
		return path, err
	}
	kept := 0
	for _, c := range all { // newest first
		if c > path {
			continue
		}
		if kept++; kept > keep {
			os.Remove(c)
		}
	}
	return path, nil
}

// Checkpoints lists the checkpoint files in dir, newest first (none when
// dir does not exist).
func Checkpoints(dir string) []string {
	all, _ := listCheckpoints(dir)
	return all
}

// ErrNoCheckpoint is returned by LoadCheckpoint when dir holds no valid one.
var ErrNoCheckpoint = errors.New("no valid checkpoint")

// LoadCheckpoint returns the newest valid checkpoint in dir, skipping
// damaged ones (each skip is reported through warn).
func LoadCheckpoint(dir string, warn func(string)) (*model.File, string, error) {
	all, err := listCheckpoints(dir)
	if err != nil {
		return nil, "", fmt.Errorf("resume: %w", err)
	}
	for _, p := range all {
		f, err := model.ReadFile(p)
		if err == nil && f.Kind != "checkpoint" {
			err = fmt.Errorf("%s: not a checkpoint", p)
		}
		if err == nil {
			return f, p, nil
		}
		if warn != nil {
			warn(fmt.Sprintf("skipping damaged checkpoint: %v", err))
		}
	}
	return nil, "", fmt.Errorf("resume: %w in %s", ErrNoCheckpoint, dir)
}

// Checkpoint is a checkpoint opened to resume from.
type Checkpoint struct {
	File *model.File
	Path string // the file
	Dir  string // its folder, where the resumed run goes on checkpointing
	// Config is the run's configuration; Epoch its epochs completed, and
	// EpochStep the steps done in the next.
	Config           Config
	Epoch, EpochStep int
	Outputs          *Outputs // nil when the checkpoint does not say
}

// OpenCheckpoint opens what --resume names: a checkpoint file, or a folder,
// whose newest valid checkpoint it opens (skipping damaged ones, each
// reported through warn).
func OpenCheckpoint(path string, warn func(string)) (*Checkpoint, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	var f *model.File
	file := path
	if st.IsDir() {
		if f, file, err = LoadCheckpoint(path, warn); err != nil {
			return nil, err
		}
	} else {
		if f, err = model.ReadFile(path); err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
		if f.Kind != "checkpoint" {
			return nil, fmt.Errorf("resume: %s is a %s file, not a checkpoint", path, f.Kind)
		}
	}
	var meta checkpointMeta
	if err := json.Unmarshal(f.Meta, &meta); err != nil {
		return nil, fmt.Errorf("resume: %s: %w: checkpoint meta: %v", file, model.ErrModelFile, err)
	}
	cfg, err := TrainConfigOf(f)
	if err != nil {
		return nil, fmt.Errorf("resume: %s: %w", file, err)
	}
	return &Checkpoint{File: f, Path: file, Dir: filepath.Dir(file), Config: cfg,
		Epoch: meta.Epoch, EpochStep: meta.EpochStep, Outputs: meta.Outputs}, nil
}

// Position is where a run stands: epochs completed, and steps done in the
// next. Runs at one position may train as the lanes of one group
// (RunGroup); a fresh run stands at the zero Position.
type Position struct {
	Epoch, EpochStep int
}

// PositionOf is where the run of checkpoint ck stands (the zero Position
// for nil: a fresh run).
func PositionOf(ck *Checkpoint) Position {
	if ck == nil {
		return Position{}
	}
	return Position{Epoch: ck.Epoch, EpochStep: ck.EpochStep}
}

// Finished reports whether the checkpoint has every epoch of its run done
// (what is left is the test, and writing the results).
func (ck *Checkpoint) Finished() bool { return ck.Epoch >= ck.Config.Epochs && ck.EpochStep == 0 }

// A Contradiction is a setting given to a resumed run that differs from its
// checkpoint's.
type Contradiction struct {
	Key        string // "model", "seed", or an override's key ("l1", "batch_size", …)
	Checkpoint string // the checkpoint's value
	Given      string // the value given
}

// ResumeConfig is the configuration a run resumed from ck trains: ck's, but
// with given.Epochs (when set) as its epochs, which extends training or ends
// it sooner, never before the epochs ck has begun (training then is what a
// run of that many epochs from the start would have done: nothing before
// the last epoch depends on the count). Every other setting given (the
// preset, "" when not given; the overrides; the seed, nil when not given)
// must agree with ck's effective value: a preset agrees when its network
// settings, with the given overrides, are ck's. Each that does not is
// returned, and the configuration is then ck's.
func ResumeConfig(ck *Checkpoint, preset string, given Overrides, seed *uint64) (Config, []Contradiction, error) {
	cfg := ck.Config
	var out []Contradiction
	if preset != "" && preset != cfg.Preset {
		base, err := Defaults(preset)
		if err != nil {
			return cfg, nil, err
		}
		given.apply(&base)
		for _, s := range settings {
			if !s.training && s.compare(&base, &cfg) != 0 {
				name := cfg.Preset
				if name == "" {
					name = cfg.Method
				}
				out = append(out, Contradiction{Key: "model", Checkpoint: name, Given: preset})
				break
			}
		}
	}
	for _, s := range settings {
		if s.key == "epochs" || !s.set(&given) {
			continue
		}
		v := cfg.clone()
		s.apply(&given, &v)
		if s.compare(&v, &cfg) != 0 {
			var o Overrides
			s.capture(&o, &cfg)
			out = append(out, Contradiction{Key: s.key, Checkpoint: s.text(&o), Given: s.text(&given)})
		}
	}
	if seed != nil && *seed != cfg.Seed {
		out = append(out, Contradiction{Key: "seed", Checkpoint: strconv.FormatUint(cfg.Seed, 10), Given: strconv.FormatUint(*seed, 10)})
	}
	if len(out) > 0 || given.Epochs == nil || *given.Epochs == cfg.Epochs {
		return cfg, out, nil
	}
	n := *given.Epochs
	if ck.EpochStep > 0 && n <= ck.Epoch {
		return cfg, nil, fmt.Errorf("the checkpoint %s stopped in epoch %d of %d; ask for at least %d", ck.Path, ck.Epoch+1, cfg.Epochs, ck.Epoch+1)
	}
	if n < max(ck.Epoch, 1) {
		return cfg, nil, fmt.Errorf("the checkpoint %s has %d of %d epochs done; ask for at least %d", ck.Path, ck.Epoch, cfg.Epochs, ck.Epoch)
	}
	if cfg.Preset == "" { // an older regcl's custom configuration
		cfg.Epochs = n
		return cfg, nil, nil
	}
	o := cfg.Overrides.Without()
	o.Epochs = &n
	c, err := NewConfig(cfg.Preset, o, cfg.Seed)
	return c, nil, err
}
