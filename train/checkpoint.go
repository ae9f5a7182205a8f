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

// CheckpointFile returns the model.File of the trainer's whole state:
// weights, BatchNorm statistics, Adam moments and step, epoch and position
// inside it, and the history so far.
func (t *Trainer) CheckpointFile() (*model.File, error) { return t.checkpointFile(nil) }

// checkpointFile is CheckpointFile, recording out when it is set.
func (t *Trainer) checkpointFile(out *Outputs) (*model.File, error) {
	ts, err := t.Net.Snapshot()
	if err != nil {
		return nil, err
	}
	for _, p := range t.Net.Params() {
		for _, mv := range []struct {
			prefix string
			buf    device.Buffer
		}{{adamM, t.Opt.M}, {adamV, t.Opt.V}} {
			ft := model.FileTensor{Name: mv.prefix + p.Name, Shape: append([]int(nil), p.Shape...), Data: make([]float32, p.Len())}
			if err := t.be.Read(mv.buf, p.Off, ft.Data); err != nil {
				return nil, err
			}
			ts = append(ts, ft)
		}
	}
	meta := checkpointMeta{Config: t.Cfg, Epoch: t.Epoch, Step: t.Step, EpochStep: t.epochStep,
		EpochElapsed: t.epochElapsed, History: t.History, Outputs: out}
	switch {
	case t.epochStep >= t.Steps() && t.epochAcc != nil:
		// Interrupted in the validation, which has reused the device's
		// accumulators: the training sums were kept on the host.
		meta.EpochAcc = t.epochAcc
	case t.epochStep > 0:
		if meta.EpochAcc, err = t.readAcc(); err != nil {
			return nil, err
		}
	}
	mb, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	return &model.File{Kind: "checkpoint", Config: t.Cfg.Model, Meta: mb, Tensors: ts}, nil
}

// ModelFile returns the trained network as a model file.
func (t *Trainer) ModelFile() (*model.File, error) {
	ts, err := t.Net.Snapshot()
	if err != nil {
		return nil, err
	}
	mb, err := json.Marshal(modelMeta{Config: t.Cfg, History: t.History})
	if err != nil {
		return nil, err
	}
	return &model.File{Kind: "model", Config: t.Cfg.Model, Meta: mb, Tensors: ts}, nil
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

// Restore loads a checkpoint into a trainer made with the checkpoint's
// configuration.
func (t *Trainer) Restore(f *model.File) error {
	if f.Kind != "checkpoint" {
		return fmt.Errorf("%w: a %s file, not a checkpoint", model.ErrModelFile, f.Kind)
	}
	var meta checkpointMeta
	if err := json.Unmarshal(f.Meta, &meta); err != nil {
		return fmt.Errorf("%w: checkpoint meta: %v", model.ErrModelFile, err)
	}
	// EpochStep == Steps: every step of the epoch done, its validation not
	// (interrupted there).
	if meta.EpochStep < 0 || meta.EpochStep > t.Steps() || meta.Epoch < 0 || meta.Epoch > t.Cfg.Epochs ||
		(meta.EpochStep > 0 && (len(meta.EpochAcc) != device.AccLen || meta.Epoch == t.Cfg.Epochs)) || len(meta.History) != meta.Epoch {
		return fmt.Errorf("%w: checkpoint position (epoch %d, step %d of %d) is inconsistent", model.ErrModelFile, meta.Epoch, meta.EpochStep, t.Steps())
	}
	if err := t.Net.Restore(f.Tensors); err != nil {
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
			if err := t.be.Write(mv.buf, p.Off, ft.Data); err != nil {
				return err
			}
		}
	}
	t.Epoch, t.Step, t.History = meta.Epoch, meta.Step, meta.History
	t.epochStep, t.epochAcc, t.epochElapsed = meta.EpochStep, meta.EpochAcc, meta.EpochElapsed
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

// SaveCheckpoint writes the trainer's state into dir atomically and keeps
// only the newest keep checkpoints there.
func (t *Trainer) SaveCheckpoint(dir string, keep int) (string, error) {
	return t.saveCheckpoint(dir, keep, nil)
}

// saveCheckpoint is SaveCheckpoint, recording out in the checkpoint. Of the
// checkpoints older than the one it writes it keeps the newest keep−1; a
// checkpoint of a later step is left alone (a damaged one a fresh run
// started beside: pruned as "older", the new one would go).
func (t *Trainer) saveCheckpoint(dir string, keep int, out *Outputs) (string, error) {
	f, err := t.checkpointFile(out)
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
