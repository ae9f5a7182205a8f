package train

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"testing"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/cpu"
	"github.com/regcl/regcl/device/opencl"
	"github.com/regcl/regcl/mnist"
	"github.com/regcl/regcl/model"
)

// The golden file: training steps of a tiny 7-5-4-3 network computed in
// float64 by testdata/golden/gen.py, an independent implementation (PyTorch
// autograd for the gradients, Keras's update rules written out, Random123's
// Philox and Go's documented PCG written afresh), never from regcl's code.
// See testdata/golden/README.md.
const goldenPath = "../testdata/golden/golden.json"

type goldenFile struct {
	Network struct {
		Inputs  int   `json:"inputs"`
		Hidden  []int `json:"hidden"`
		Classes int   `json:"classes"`
	} `json:"network"`
	Constants struct {
		LR              float64 `json:"lr"`
		Beta1           float64 `json:"beta1"`
		Beta2           float64 `json:"beta2"`
		Eps             float64 `json:"eps"`
		BNMomentum      float64 `json:"bn_momentum"`
		BNEps           float64 `json:"bn_eps"`
		BatchSize       int     `json:"batch_size"`
		ValidationSplit float64 `json:"validation_split"`
	} `json:"constants"`
	Images [][]uint8    `json:"images"`
	Labels []uint8      `json:"labels"`
	NTrain int          `json:"n_train"`
	NVal   int          `json:"n_val"`
	Cases  []goldenCase `json:"cases"`
}

type goldenCase struct {
	Name      string               `json:"name"`
	L1        float64              `json:"l1"`
	L2        float64              `json:"l2"`
	Dropout   float64              `json:"dropout"`
	BatchNorm bool                 `json:"batch_norm"`
	Seed      uint64               `json:"seed"`
	Perm      []int32              `json:"perm"`
	Init      map[string][]float64 `json:"init"`
	Steps     []goldenStep         `json:"steps"`
	Epoch     struct {
		Loss        float64 `json:"loss"`
		Accuracy    float64 `json:"accuracy"`
		ValLoss     float64 `json:"val_loss"`
		ValAccuracy float64 `json:"val_accuracy"`
	} `json:"epoch"`
}

type goldenStep struct {
	Step       int                  `json:"step"`
	Rows       int                  `json:"rows"`
	Images     []int32              `json:"images"`
	Masks      map[string][]int     `json:"masks"`
	Loss       float64              `json:"loss"`
	Correct    int                  `json:"correct"`
	Grads      map[string][]float64 `json:"grads"`
	Params     map[string][]float64 `json:"params"`
	M          map[string][]float64 `json:"m"`
	V          map[string][]float64 `json:"v"`
	Alpha      float64              `json:"alpha"`
	EvalLogits [][]float64          `json:"eval_logits"`
}

func readGolden(t *testing.T) *goldenFile {
	t.Helper()
	b, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("the golden file (regenerate with /usr/bin/python3 testdata/golden/gen.py): %v", err)
	}
	var g goldenFile
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("%s: %v", goldenPath, err)
	}
	if len(g.Cases) == 0 {
		t.Fatalf("%s holds no cases", goldenPath)
	}
	return &g
}

// data is the golden images as an MNIST-shaped data set (7 pixels as 7×1),
// the same set standing in for the test images.
func (g *goldenFile) data() *mnist.Data {
	s := &mnist.Set{N: len(g.Images), Rows: g.Network.Inputs, Cols: 1, Labels: g.Labels}
	for _, im := range g.Images {
		s.Images = append(s.Images, im...)
	}
	return &mnist.Data{Train: s, Test: s}
}

func (g *goldenFile) config(c goldenCase) Config {
	return Config{
		Method: c.Name,
		Model: model.Config{Inputs: g.Network.Inputs, Hidden: g.Network.Hidden, Classes: g.Network.Classes,
			L1: c.L1, L2: c.L2, Dropout: c.Dropout, BatchNorm: c.BatchNorm},
		Epochs: 1, BatchSize: g.Constants.BatchSize, ValidationSplit: g.Constants.ValidationSplit,
		LR: g.Constants.LR, Seed: c.Seed,
	}
}

// goldenErrors keeps the largest error of each quantity over every case.
type goldenErrors struct {
	bound float64
	worst map[string]float64
	where map[string]string
}

// check compares got with want by max|got−want| / max|want| (max|got−want|
// when want is all zero): the components that come out of cancellation carry
// more relative rounding than the large ones, so a tensor's error is taken
// against its largest value, the scale of its rounding.
func (e *goldenErrors) check(t *testing.T, quantity, where string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s %s: %d values, the golden file has %d", where, quantity, len(got), len(want))
	}
	var d, scale float64
	for i := range want {
		d = max(d, math.Abs(got[i]-want[i]))
		if math.IsNaN(got[i]) {
			d = math.Inf(1)
		}
		scale = max(scale, math.Abs(want[i]))
	}
	rel := d
	if scale > 0 {
		rel = d / scale
	}
	if rel > e.worst[quantity] || math.IsNaN(rel) {
		e.worst[quantity], e.where[quantity] = rel, where
	}
	if !(rel <= e.bound) {
		t.Errorf("%s: %s differs from the golden value by %.3g relative, above %.0e (got %v, want %v)", where, quantity, rel, e.bound, got, want)
	}
}

func (e *goldenErrors) log(t *testing.T, backend string) {
	var qs []string
	for q := range e.worst {
		qs = append(qs, q)
	}
	sort.Strings(qs)
	for _, q := range qs {
		t.Logf("%s: largest relative error in %-22s %.3g (%s)", backend, q, e.worst[q], e.where[q])
	}
}

// TestGoldenCPU64 runs every golden case through model and train on the
// float64 CPU backend: the same formulas in float64, so only the order of
// summation differs (≈1e-16); 1e-9 is far above that and far below any
// wrong constant or wiring (the smallest effect pinned, a penalty of 1e-5
// on a gradient of 0.1, is 1e-4 relative).
func TestGoldenCPU64(t *testing.T) {
	runGolden(t, "cpu float64", func() (device.Backend, error) { return cpu.New[float64](1), nil }, 1e-9)
}

// TestGoldenOpenCL: the same on OpenCL in float32, at the agreement test's
// float32 bound (1e-5; gen.py checked that a float32 rerun of its own
// arithmetic stays within 2e-6 of each tensor's largest value).
func TestGoldenOpenCL(t *testing.T) {
	d := openCLDevice(t)
	runGolden(t, d.Name(), func() (device.Backend, error) { return d.NewBackend(1) }, 1e-5)
}

// TestGoldenOpenCLGPUVariant: the same with the kernels' GPU variant built
// on this device (PoCL in CI).
func TestGoldenOpenCLGPUVariant(t *testing.T) {
	first := openCLDevice(t)
	d, err := opencl.OpenTuned(first.Info, opencl.VariantTuning(first.Info, false))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	runGolden(t, d.Name()+" GPU variant", func() (device.Backend, error) { return d.NewBackend(1) }, 1e-5)
}

func runGolden(t *testing.T, name string, newBackend func() (device.Backend, error), bound float64) {
	g := readGolden(t)
	errs := &goldenErrors{bound: bound, worst: map[string]float64{}, where: map[string]string{}}
	data := g.data()
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			be, err := newBackend()
			if err != nil {
				t.Fatal(err)
			}
			defer be.Close()
			cfg := g.config(c)
			if got := Permutation(c.Seed, 0, g.NTrain); !slices.Equal(got, c.Perm) {
				t.Errorf("epoch 0's order of the %d training images is %v, the golden file's %v", g.NTrain, got, c.Perm)
			}
			tr := goldenTrainer(t, be, cfg, data, c)
			defer tr.Close()
			if tr.TrainSamples() != g.NTrain || tr.ValSamples() != g.NVal || tr.Steps() != len(c.Steps) {
				t.Fatalf("split: %d train, %d validate, %d steps; the golden file has %d, %d, %d",
					tr.TrainSamples(), tr.ValSamples(), tr.Steps(), g.NTrain, g.NVal, len(c.Steps))
			}
			if err := tr.startEpoch(); err != nil {
				t.Fatal(err)
			}
			var prev []float64
			if prev, err = tr.readAcc(0); err != nil {
				t.Fatal(err)
			}
			for s, st := range c.Steps {
				where := fmt.Sprintf("%s step %d", c.Name, st.Step)
				if got := Alpha(cfg.LR, uint64(s+1)); math.Abs(got-st.Alpha) > 1e-15*st.Alpha {
					t.Errorf("%s: α = %v, the golden %v", where, got, st.Alpha)
				}
				checkMasks(t, where, cfg, uint64(s), st)
				tr.trainStep(s)
				acc, err := tr.readAcc(0)
				if err != nil {
					t.Fatal(err)
				}
				errs.check(t, "loss", where, []float64{(acc[device.AccLoss] - prev[device.AccLoss]) / float64(st.Rows)}, []float64{st.Loss})
				if got := int(acc[device.AccCorrect] - prev[device.AccCorrect]); got != st.Correct {
					t.Errorf("%s: %d rows right, the golden file %d", where, got, st.Correct)
				}
				prev = acc
				for _, p := range tr.Net.Tensors() {
					errs.check(t, "parameter", where+" "+p.Name, readBuf(t, be, p.W, 0, p.Len()), st.Params[p.Name])
					if p.G == nil {
						continue
					}
					errs.check(t, "gradient", where+" "+p.Name, readBuf(t, be, p.G, 0, p.Len()), st.Grads[p.Name])
					errs.check(t, "Adam m", where+" "+p.Name, readBuf(t, be, tr.Opt.M, p.Off, p.Len()), st.M[p.Name])
					errs.check(t, "Adam v", where+" "+p.Name, readBuf(t, be, tr.Opt.V, p.Off, p.Len()), st.V[p.Name])
				}
				errs.check(t, "eval-mode logits", where, goldenLogits(t, tr, len(g.Images)), flatten(st.EvalLogits))
			}
			// The whole epoch through the loop itself, from the same start:
			// Keras's epoch loss and accuracy, and the validation metrics.
			tr2 := goldenTrainer(t, be, cfg, data, c)
			defer tr2.Close()
			ms, err := tr2.RunEpoch(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			m := ms[0]
			errs.check(t, "epoch loss", c.Name, []float64{m.Loss}, []float64{c.Epoch.Loss})
			errs.check(t, "epoch val_loss", c.Name, []float64{m.ValLoss}, []float64{c.Epoch.ValLoss})
			if m.Accuracy != c.Epoch.Accuracy || m.ValAccuracy != c.Epoch.ValAccuracy {
				t.Errorf("%s: epoch accuracy %v, val_accuracy %v; the golden file %v, %v", c.Name, m.Accuracy, m.ValAccuracy, c.Epoch.Accuracy, c.Epoch.ValAccuracy)
			}
		})
	}
	errs.log(t, name)
}

// goldenTrainer makes a trainer for the case and loads its initial tensors.
func goldenTrainer(t *testing.T, be device.Backend, cfg Config, data *mnist.Data, c goldenCase) *Trainer {
	t.Helper()
	tr, err := NewTrainer(be, cfg, data)
	if err != nil {
		t.Fatal(err)
	}
	var ts []model.FileTensor
	for _, p := range tr.Net.Tensors() {
		v, ok := c.Init[p.Name]
		if !ok || len(v) != p.Len() {
			t.Fatalf("the golden case %s has no initial %s of %d values", c.Name, p.Name, p.Len())
		}
		ft := model.FileTensor{Name: p.Name, Shape: p.Shape, Data: make([]float32, len(v))}
		for i, x := range v {
			ft.Data[i] = float32(x)
			if float64(ft.Data[i]) != x {
				t.Fatalf("golden %s[%d] = %v is not a float32", p.Name, i, x)
			}
		}
		ts = append(ts, ft)
	}
	if len(ts) != len(c.Init) {
		t.Fatalf("the golden case %s has %d initial tensors, the network %d", c.Name, len(c.Init), len(ts))
	}
	if err := tr.Net.Restore(0, ts); err != nil {
		t.Fatal(err)
	}
	return tr
}

// goldenLogits are the inference-mode logits of the first n images.
func goldenLogits(t *testing.T, tr *Trainer, n int) []float64 {
	t.Helper()
	d := tr.data
	tr.be.GatherRows(tr.batch, d.trainX, d.ident, 0, n, tr.Cfg.Model.Inputs)
	tr.Net.Forward(tr.batch, n, false, 0)
	return readBuf(t, tr.be, tr.Net.Logits(), 0, n*tr.Cfg.Model.Classes)
}

// checkMasks compares the golden dropout masks (Philox written afresh in
// gen.py) with device.Mask's, the specification every backend follows.
func checkMasks(t *testing.T, where string, cfg Config, step uint64, st goldenStep) {
	t.Helper()
	for l := range cfg.Model.Hidden {
		want, ok := st.Masks[fmt.Sprint(l)]
		if cfg.Model.Dropout == 0 {
			continue
		}
		if !ok {
			t.Fatalf("%s: the golden file has no mask for layer %d", where, l)
		}
		d := device.Mask{Rate: cfg.Model.Dropout, Seed: cfg.Seed, Step: step, Layer: uint32(l)}
		for e, k := range want {
			if d.Keep(e) != (k == 1) {
				t.Errorf("%s: layer %d element %d: device.Mask keeps %v, the golden mask %d", where, l, e, d.Keep(e), k)
				break
			}
		}
	}
}

func flatten(x [][]float64) []float64 {
	var out []float64
	for _, r := range x {
		out = append(out, r...)
	}
	return out
}
