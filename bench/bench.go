package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"syscall"
	"time"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/cpu"
	"github.com/regcl/regcl/device/opencl"
	"github.com/regcl/regcl/mnist"
	"github.com/regcl/regcl/model"
	"github.com/regcl/regcl/train"
)

// Options says what to measure.
type Options struct {
	Data    *mnist.Data
	Presets []string // trained presets, default all six
	Epochs  int      // measured epochs per preset after the warm-up epoch (default 3)
	// LateEpoch, when at least 2·Epochs+1, trains each preset on to that epoch
	// and times its last Epochs epochs as well: the steady state of a run,
	// which a fresh network's first epochs do not show (default 10; 0: no
	// late figure).
	LateEpoch int
	// Denormals counts the subnormal floats in every buffer of each preset's
	// run at its last epoch (Trainer.Census).
	Denormals bool
	Backends  []string // "cpu", "opencl" or "opencl:P:D"; empty for every reachable one
	// Tuning pins a tuning file for OpenCL devices (empty: $REGCL_TUNING,
	// else each device's cached tuning); Untuned uses the devices' defaults.
	Tuning  string
	Untuned bool
	// Lanes is the number of runs each preset's figure trains at once, as
	// the lanes of one backend (seeds 1..Lanes; default 1): its samples/s
	// count every lane's samples.
	Lanes int
	Log   io.Writer
}

// SlowdownFlag is the late/fresh throughput below which a preset is flagged:
// a run that slows by more than 15 % as it trains.
const SlowdownFlag = 0.85

// Report is one run of regcl bench; its JSON form is what --json writes.
type Report struct {
	Time     time.Time `json:"time"`
	Host     string    `json:"host"`
	CPUs     int       `json:"cpus"`
	Go       string    `json:"go"`
	Backends []Backend `json:"backends"`
}

// Backend holds one backend's figures.
type Backend struct {
	Name             string         `json:"name"`
	Kind             string         `json:"kind"`                    // "opencl" or "cpu"
	Library          string         `json:"library,omitempty"`       // the OpenCL library file
	LoadSeconds      float64        `json:"load_seconds,omitempty"`  // loading the OpenCL library and listing devices
	BuildSeconds     float64        `json:"build_seconds,omitempty"` // compiling the kernels (PoCL caches binaries on disk)
	BuildOptions     string         `json:"build_options,omitempty"`
	Tuning           string         `json:"tuning"`
	FlushDenormals   bool           `json:"flush_denormals"` // OpenCL: built with -cl-denorms-are-zero
	Train            []TrainFigure  `json:"train"`
	InferSamplesPerS float64        `json:"infer_samples_per_s"`
	InferGFLOPS      float64        `json:"infer_gflops"` // from device.InferFlops
	InferPreset      string         `json:"infer_preset"` // the network inference was timed on
	Gemm             []GemmFigure   `json:"gemm"`
	GemmUntuned      []GemmFigure   `json:"gemm_untuned,omitempty"` // with the device's defaults, when it is tuned
	Kernels          []KernelFigure `json:"kernels,omitempty"`
	// StepWallMs is the profiled steps' time per step on the host's clock,
	// from the first enqueue to the last kernel's end; what of it the
	// kernels do not cover (enqueueing, launch latency, host work between
	// launches) is the overhead a launch-bound device pays.
	StepWallMs float64 `json:"step_wall_ms,omitempty"`
	PeakRSSMiB float64 `json:"peak_rss_mib"` // of the whole process so far: it only grows
}

// TrainFigure is a preset's training throughput, fresh (the epochs right
// after one warm-up epoch) and late (the last epochs of a longer run).
type TrainFigure struct {
	Preset       string    `json:"preset"`
	Lanes        int       `json:"lanes,omitempty"` // runs trained at once (1 when absent)
	SamplesPerS  float64   `json:"samples_per_s"`   // every lane's samples
	SPerEpoch    float64   `json:"s_per_epoch"`     // median training time of an epoch, validation excluded
	EpochSeconds []float64 `json:"epoch_seconds"`
	StepGFLOP    float64   `json:"step_gflop"` // one full training step's products (device.TrainStepFlops)
	GFLOPS       float64   `json:"gflops"`     // effective: StepGFLOP × steps per epoch / SPerEpoch

	LateFromEpoch    int       `json:"late_from_epoch,omitempty"` // 1-based first late epoch timed
	LateSamplesPerS  float64   `json:"late_samples_per_s,omitempty"`
	LateSPerEpoch    float64   `json:"late_s_per_epoch,omitempty"`
	LateEpochSeconds []float64 `json:"late_epoch_seconds,omitempty"`
	LateGFLOPS       float64   `json:"late_gflops,omitempty"`
	LateSlowdown     float64   `json:"late_slowdown,omitempty"` // late / fresh throughput
	Slows            bool      `json:"slows"`                   // LateSlowdown < SlowdownFlag

	Denormals []train.BufferCensus `json:"denormals,omitempty"` // the buffers holding subnormals at the last epoch
}

// GemmFigure is one product's speed.
type GemmFigure struct {
	Shape  string  `json:"shape"`
	Trans  string  `json:"trans"`
	M      int     `json:"m"`
	N      int     `json:"n"`
	K      int     `json:"k"`
	GFLOPS float64 `json:"gflops"`
}

// KernelFigure is one kernel's device time per training step.
type KernelFigure struct {
	Name          string  `json:"name"`
	MsPerStep     float64 `json:"ms_per_step"`
	LaunchPerStep float64 `json:"launches_per_step"`
	Share         float64 `json:"share"`
}

// Run measures every selected backend in turn.
func Run(ctx context.Context, opt Options) (*Report, error) {
	if len(opt.Presets) == 0 {
		opt.Presets = model.Methods
	}
	if opt.Epochs < 1 {
		opt.Epochs = 3
	}
	if opt.Lanes < 1 {
		opt.Lanes = 1
	}
	if opt.Lanes > device.MaxLanes {
		return nil, fmt.Errorf("%d lanes: at most %d", opt.Lanes, device.MaxLanes)
	}
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	host, _ := os.Hostname()
	rep := &Report{Time: time.Now().UTC().Truncate(time.Second), Host: host, CPUs: runtime.NumCPU(), Go: runtime.Version()}
	want := func(spec string) bool {
		if len(opt.Backends) == 0 {
			return true
		}
		for _, b := range opt.Backends {
			if b == spec || (b == "opencl" && len(spec) > 6 && spec[:7] == "opencl:") {
				return true
			}
		}
		return false
	}
	t0 := time.Now()
	infos, lerr := opencl.List()
	load := time.Since(t0).Seconds()
	if lerr != nil {
		fmt.Fprintf(opt.Log, "OpenCL unavailable: %v\n", lerr)
	}
	for _, info := range infos {
		spec := fmt.Sprintf("opencl:%d:%d", info.Platform, info.Device)
		if !want(spec) {
			continue
		}
		tu := opencl.DefaultTuning(info)
		if !opt.Untuned {
			tu = opencl.TuningFor(info, opt.Tuning, opt.Log)
		}
		d, err := opencl.OpenTuned(info, tu)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec, err)
		}
		b := Backend{Name: d.Name(), Kind: "opencl", Library: opencl.Library(), LoadSeconds: load, BuildSeconds: d.BuildTime.Seconds(),
			BuildOptions: d.Options, Tuning: tu.Describe(), FlushDenormals: d.FlushesDenormals()}
		fmt.Fprintf(opt.Log, "%s: %s\n", d.Name(), tu.Describe())
		err = measure(ctx, &b, d, opt)
		if err == nil {
			err = profileKernels(&b, d, opt)
		}
		if err == nil && tu.Source != opencl.Untuned {
			// The defaults' products too, side by side: what tuning is worth.
			var u *opencl.Device
			if u, err = opencl.Open(info); err == nil {
				b.GemmUntuned, err = gemmFigures(u, b.Name+" untuned", opt)
				u.Close()
			}
		}
		d.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec, err)
		}
		b.PeakRSSMiB = peakRSSMiB()
		rep.Backends = append(rep.Backends, b)
	}
	if want("cpu") {
		b := Backend{Name: cpu.Device{}.Name(), Kind: "cpu", Tuning: "-", FlushDenormals: true}
		if err := measure(ctx, &b, cpu.Device{}, opt); err != nil {
			return nil, fmt.Errorf("cpu: %w", err)
		}
		b.PeakRSSMiB = peakRSSMiB()
		rep.Backends = append(rep.Backends, b)
	}
	if len(rep.Backends) == 0 {
		return nil, fmt.Errorf("no backend matches %v", opt.Backends)
	}
	return rep, nil
}

// Median is the median of xs (the mean of the middle two of an even
// count; 0 for none).
func Median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// measure trains each preset (one warm-up epoch, then opt.Epochs measured,
// and with a late epoch, on to it and its last opt.Epochs measured), times
// inference on the test set and the GEMM shapes.
func measure(ctx context.Context, b *Backend, dev device.Device, opt Options) error {
	for _, p := range opt.Presets {
		fig, err := trainFigure(ctx, b, dev, p, opt)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		b.Train = append(b.Train, fig)
	}
	var err error
	b.Gemm, err = gemmFigures(dev, b.Name, opt)
	return err
}

// StudyProducts are the products of one training step of the study's
// network at batch 128 (model.Products), then device.Yardstick.
func StudyProducts() ([]device.GemmShape, error) {
	cfg, err := model.Preset("baseline")
	if err != nil {
		return nil, err
	}
	ps, err := model.Products(cfg, 128, 0)
	return append(ps, device.Yardstick), err
}

// gemmFigures times the study's product shapes on a backend of dev.
func gemmFigures(dev device.Device, name string, opt Options) ([]GemmFigure, error) {
	be, err := dev.NewBackend(1)
	if err != nil {
		return nil, err
	}
	defer be.Close()
	shapes, err := StudyProducts()
	if err != nil {
		return nil, err
	}
	var out []GemmFigure
	for _, s := range shapes {
		g, err := gemmGFLOPS(be, s)
		if err != nil {
			return nil, err
		}
		out = append(out, GemmFigure{Shape: s.Name, Trans: s.Trans(), M: s.M, N: s.N, K: s.K, GFLOPS: g})
		fmt.Fprintf(opt.Log, "%s  gemm %-22s %7.1f GFLOP/s\n", name, s, g)
	}
	return out, nil
}

// trainFigure trains preset p (opt.Lanes runs of it at once, seeds 1..)
// and times its epochs; on the last preset it also times inference on the
// test set, with the network it trained (lane 0's).
func trainFigure(ctx context.Context, b *Backend, dev device.Device, p string, opt Options) (TrainFigure, error) {
	fig := TrainFigure{Preset: p}
	cfg, err := train.Defaults(p)
	if err != nil {
		return fig, err
	}
	cfg.Seed = 1
	cfg.Epochs = 1 + opt.Epochs
	late := opt.LateEpoch >= 1+2*opt.Epochs
	if late {
		cfg.Epochs = opt.LateEpoch
		fig.LateFromEpoch = opt.LateEpoch - opt.Epochs + 1
	}
	L := max(1, opt.Lanes)
	be, err := dev.NewBackend(L)
	if err != nil {
		return fig, err
	}
	defer be.Close()
	var t *train.Trainer
	if L == 1 {
		t, err = train.NewTrainer(be, cfg, opt.Data)
	} else {
		fig.Lanes = L
		cfgs := make([]train.Config, L)
		for l := range cfgs {
			cfgs[l] = cfg
			cfgs[l].Seed = uint64(l + 1)
		}
		var data *train.DeviceData
		if data, err = train.UploadData(dev, opt.Data); err != nil {
			return fig, err
		}
		defer data.Close() // after t.Close
		t, err = train.NewGroup(be, cfgs, data)
	}
	if err != nil {
		return fig, err
	}
	defer t.Close()
	widths := append(append([]int{cfg.Model.Inputs}, cfg.Model.Hidden...), cfg.Model.Classes)
	fig.StepGFLOP = device.TrainStepFlops(widths, cfg.BatchSize) / 1e9
	for e := 1; e <= cfg.Epochs; e++ {
		m, err := t.RunEpoch(ctx)
		if err != nil {
			return fig, err
		}
		switch {
		case e >= 2 && e <= 1+opt.Epochs:
			fig.EpochSeconds = append(fig.EpochSeconds, m[0].TrainSeconds)
		case late && e >= fig.LateFromEpoch:
			fig.LateEpochSeconds = append(fig.LateEpochSeconds, m[0].TrainSeconds)
		}
	}
	// GFLOP/s over an epoch: a step's products times the steps (the last
	// batch is short, so it is counted by its rows), times the lanes.
	samples := float64(L * t.TrainSamples())
	epochGFLOP := fig.StepGFLOP * samples / float64(cfg.BatchSize)
	fig.SPerEpoch = Median(fig.EpochSeconds)
	fig.SamplesPerS = samples / fig.SPerEpoch
	fig.GFLOPS = epochGFLOP / fig.SPerEpoch
	line := fmt.Sprintf("%s  train %-11s %8.0f samples/s  %.3f s/epoch (epochs 2-%d)", b.Name, p, fig.SamplesPerS, fig.SPerEpoch, 1+opt.Epochs)
	if L > 1 {
		line += fmt.Sprintf(" of %d lanes", L)
	}
	if late {
		fig.LateSPerEpoch = Median(fig.LateEpochSeconds)
		fig.LateSamplesPerS = samples / fig.LateSPerEpoch
		fig.LateGFLOPS = epochGFLOP / fig.LateSPerEpoch
		fig.LateSlowdown = fig.LateSamplesPerS / fig.SamplesPerS
		fig.Slows = fig.LateSlowdown < SlowdownFlag
		line += fmt.Sprintf("; late %8.0f samples/s (epochs %d-%d, %.2f× fresh)", fig.LateSamplesPerS, fig.LateFromEpoch, opt.LateEpoch, fig.LateSlowdown)
		if fig.Slows {
			line += fmt.Sprintf("  SLOWS: more than %.0f %% below fresh", 100*(1-SlowdownFlag))
		}
	}
	fmt.Fprintln(opt.Log, line)
	if opt.Denormals {
		census, err := t.Census(0)
		if err != nil {
			return fig, err
		}
		for _, c := range census {
			if c.Subnormals > 0 {
				fig.Denormals = append(fig.Denormals, c)
			}
		}
		fmt.Fprintf(opt.Log, "%s  %s: %d buffers hold subnormal floats after epoch %d\n", b.Name, p, len(fig.Denormals), cfg.Epochs)
	}
	if p == opt.Presets[len(opt.Presets)-1] {
		var ts []float64
		for i := 0; i < 5; i++ {
			st := time.Now()
			if _, _, err := t.Test(); err != nil {
				return fig, err
			}
			ts = append(ts, time.Since(st).Seconds())
		}
		b.InferSamplesPerS = float64(opt.Data.Test.N) / Median(ts)
		b.InferGFLOPS = device.InferFlops(widths, opt.Data.Test.N) / Median(ts) / 1e9
		b.InferPreset = p
		fmt.Fprintf(opt.Log, "%s  inference (%s) %8.0f samples/s\n", b.Name, p, b.InferSamplesPerS)
	}
	return fig, nil
}

// gemmGFLOPS times one product (device.Rate): the median of 5 batches of
// calls lasting at least 0.1 s each.
func gemmGFLOPS(be device.Backend, s device.GemmShape) (float64, error) {
	return device.GemmRate(context.Background(), be, s, 100*time.Millisecond, 5)
}

// profileKernels runs training steps of each preset on a profiling queue and
// reports the device time per step of every kernel (the batch_norm preset's
// breakdown is kept; the last preset measured wins).
func profileKernels(b *Backend, d *opencl.Device, opt Options) error {
	const warm, steps = 20, 100
	p := "batch_norm"
	cfg, err := train.Defaults(p)
	if err != nil {
		return err
	}
	be, err := d.NewProfilingBackend(1)
	if err != nil {
		return err
	}
	defer be.Close()
	t, err := train.NewTrainer(be, cfg, opt.Data)
	if err != nil {
		return err
	}
	defer t.Close()
	if err := t.TrainSteps(warm); err != nil {
		return err
	}
	if _, err := be.KernelTimes(); err != nil {
		return err
	}
	st := time.Now()
	if err := t.TrainSteps(steps); err != nil {
		return err
	}
	if err := be.Finish(); err != nil {
		return err
	}
	b.StepWallMs = time.Since(st).Seconds() * 1e3 / steps
	kt, err := be.KernelTimes()
	if err != nil {
		return err
	}
	var total time.Duration
	for _, k := range kt {
		total += k.Total
	}
	for _, k := range kt {
		b.Kernels = append(b.Kernels, KernelFigure{Name: k.Name, MsPerStep: k.Total.Seconds() * 1e3 / steps,
			LaunchPerStep: float64(k.Launches) / steps, Share: k.Total.Seconds() / total.Seconds()})
	}
	return nil
}

// peakRSSMiB is the process's peak resident set size (getrusage ru_maxrss, KiB on Linux).
func peakRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024
}
