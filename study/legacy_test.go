package study

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regcl/regcl/device/cpu"
	"github.com/regcl/regcl/mnist/mnisttest"
	"github.com/regcl/regcl/model"
	"github.com/regcl/regcl/train"
)

// oldConfig is train.Config as regcl wrote it before runs had a structured
// identity: the label in Method, no preset, no overrides.
type oldConfig struct {
	Method          string       `json:"method"`
	Model           model.Config `json:"model"`
	Epochs          int          `json:"epochs"`
	BatchSize       int          `json:"batch_size"`
	ValidationSplit float64      `json:"validation_split"`
	LR              float64      `json:"lr"`
	Seed            uint64       `json:"seed"`
	TrainSize       int          `json:"train_size,omitempty"`
}

func old(c train.Config, label string) oldConfig {
	return oldConfig{Method: label, Model: c.Model, Epochs: c.Epochs, BatchSize: c.BatchSize,
		ValidationSplit: c.ValidationSplit, LR: c.LR, Seed: c.Seed, TrainSize: c.TrainSize}
}

// oldID is the run ID of older versions: the label, 10 hex digits of the
// SHA-256 of the configuration's JSON with an empty method, and the seed.
func oldID(c oldConfig) string {
	key := c
	key.Method = ""
	b, _ := json.Marshal(key)
	h := sha256.Sum256(b)
	return fmt.Sprintf("%s-%s-s%d", c.Method, hex.EncodeToString(h[:])[:10], c.Seed)
}

// TestOldIDs: oldID is the scheme older versions used (their pinned IDs).
func TestOldIDs(t *testing.T) {
	for _, c := range []struct {
		preset, label string
		o             train.Overrides
		seed          uint64
		want          string
	}{
		{"batch_norm", "batch_norm+l2=0.0001", train.Overrides{L2: ptr(1e-4), TrainSize: ptr(1000), Epochs: ptr(1)}, 1, "batch_norm+l2=0.0001-6e28c20b69-s1"},
		{"l1", "l1+l2=0.0001", train.Overrides{L2: ptr(1e-4), TrainSize: ptr(1000), Epochs: ptr(1)}, 7, "l1+l2=0.0001-e87c6c6654-s7"},
		{"batch_norm", "batch_norm", train.Overrides{}, 1, "batch_norm-31ea6f8aef-s1"},
	} {
		cfg, err := train.NewConfig(c.preset, c.o, c.seed)
		if err != nil {
			t.Fatal(err)
		}
		if got := oldID(old(cfg, c.label)); got != c.want {
			t.Errorf("old ID %s, want %s", got, c.want)
		}
	}
}

// writeOldRecord writes r's record as an older version did: named by the old
// ID, with the old configuration.
func writeOldRecord(t *testing.T, d *Dir, r *train.Result, label string) string {
	t.Helper()
	oc := old(r.Config, label)
	rec := struct {
		*train.Result
		ID     string    `json:"id"`
		Config oldConfig `json:"config"`
	}{r, oldID(oc), oc}
	path := filepath.Join(d.RecordsDir(), oldID(oc)+".json")
	if err := train.WriteJSON(path, rec); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOldFolder: a folder an older version wrote (records named by the old
// IDs, whose configuration holds the old label; the same run recorded twice,
// by `regcl train --model l1 --l1 1e-4` and by `regcl compare --models l1`;
// the checkpoints of an interrupted run in checkpoints/<old id>/) is read:
// the finished run counts as done and is reported once, as one method, and
// the interrupted one continues from its checkpoint. Nothing is trained
// twice.
func TestOldFolder(t *testing.T) {
	data := mnisttest.Real(t)
	d := Open(t.TempDir())
	// What `regcl compare --models l1 --seeds 2 --train-size 600 --epochs 2` asks now.
	cfgs, err := Configs([]string{"l1"}, 2, train.Overrides{TrainSize: ptr(600), Epochs: ptr(2)})
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := cfgs[0], cfgs[1]

	// Seed 1 finished, recorded under two old labels.
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := &train.Result{Config: s1, Device: "cpu (gonum, float32)", TestLoss: 0.3, TestAccuracy: 0.9,
		History: []train.EpochMetrics{{Epoch: 1, Accuracy: 0.8, ValAccuracy: 0.8}, {Epoch: 2, Accuracy: 0.9, ValAccuracy: 0.85}},
		Started: start, Finished: start.Add(time.Minute)}
	fromTrain := writeOldRecord(t, d, r, "l1+l1=0.0001") // the order of train's flags
	fromCompare := writeOldRecord(t, d, r, "l1")
	t.Logf("old records: %s, %s", filepath.Base(fromTrain), filepath.Base(fromCompare))

	// Seed 2 interrupted after its first epoch: an old-style checkpoint.
	tr, err := train.NewTrainer(cpu.New[float32](1), s2, data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.RunEpoch(context.Background()); err != nil {
		t.Fatal(err)
	}
	f, err := tr.CheckpointFile(0)
	tr.Close()
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	if err := json.Unmarshal(f.Meta, &meta); err != nil {
		t.Fatal(err)
	}
	oc := old(s2, "l1")
	meta["config"] = oc
	if f.Meta, err = json.Marshal(meta); err != nil {
		t.Fatal(err)
	}
	oldCk := filepath.Join(d.CheckpointsDir(), oldID(oc))
	if err := model.WriteFile(filepath.Join(oldCk, "ckpt-000000000005.regcl"), f); err != nil {
		t.Fatal(err)
	}

	if !d.Done(s1) || d.Done(s2) {
		t.Errorf("done: seed 1 %v (want true), seed 2 %v (want false)", d.Done(s1), d.Done(s2))
	}
	got, err := d.Record(s1)
	if err != nil || got.ID != s1.ID() || got.Config.Label() != s1.Label() || got.Config.Preset != "l1" {
		t.Fatalf("the old record of seed 1: %+v, %v", got, err)
	}
	rs, err := d.Records()
	if err != nil || len(rs) != 1 || rs[0].ID != s1.ID() {
		t.Fatalf("Records: %d records, %v; want the one run once", len(rs), err)
	}
	if l := train.StudyLabels([]train.Config{rs[0].Config})[0]; l != "l1" {
		t.Errorf("the old record's method: %s", l)
	}

	var log syncBuffer
	n, err := d.Run(context.Background(), cfgs, RunOptions{Data: data, Device: cpu.Device{}, Log: &log})
	if err != nil || n != 1 {
		t.Fatalf("Run: %d trained, %v\n%s", n, err, log.String())
	}
	out := log.String()
	t.Logf("\n%s", out)
	for _, want := range []string{"1 of 2 runs already finished", "an older regcl's name", "resuming l1", "Epoch 2/2"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q", want)
		}
	}
	if strings.Contains(out, "Epoch 1/2") {
		t.Error("seed 2 started again from its first epoch")
	}
	if _, err := os.Stat(oldCk); err == nil {
		t.Errorf("the old checkpoint folder %s is left behind", oldCk)
	}
	rs, err = d.Records()
	if err != nil || len(rs) != 2 {
		t.Fatalf("Records after Run: %d, %v", len(rs), err)
	}
	for _, r := range rs {
		if r.Config.Preset != "l1" || train.StudyLabels([]train.Config{r.Config})[0] != "l1" {
			t.Errorf("record %s: preset %q label %q", r.ID, r.Config.Preset, r.Config.Label())
		}
	}
	// The resumed run's new record carries the structured identity.
	b, err := os.ReadFile(d.RecordPath(s2))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"preset": "l1"`) || !strings.Contains(string(b), `"overrides"`) {
		t.Errorf("the new record lacks preset and overrides:\n%.400s", b)
	}
}
