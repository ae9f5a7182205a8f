package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/devices"
	"github.com/regcl/regcl/device/opencl"
	"github.com/regcl/regcl/mnist"
	"github.com/regcl/regcl/model"
	"github.com/regcl/regcl/sweep"
	"github.com/regcl/regcl/train"
)

// The flag sets the commands share, each flag declared here once with its
// one default (in the manner of containerd's ctr commands package). They are
// functions, not variables, so that every command gets flags of its own.

// deviceFlags choose the compute device and its tuning.
func deviceFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "device", Value: "auto", Usage: "auto (an OpenCL GPU, else an OpenCL CPU device, else gonum), cpu, opencl, or opencl:P:D (see regcl devices)"},
		tuningFlag(),
	}
}

// tuningFlag pins an OpenCL tuning file.
func tuningFlag() cli.Flag {
	return &cli.StringFlag{Name: "tuning", TakesFile: true, Usage: "OpenCL kernels' tuning file (else $" + opencl.TuningEnv + ", else what regcl tune cached for the device)"}
}

// dataDirFlag names the MNIST folder.
func dataDirFlag() cli.Flag {
	return &cli.StringFlag{Name: "data", TakesFile: true, Usage: "folder with the four MNIST files (else $" + mnist.EnvVar + ", the cache, the Go module cache)"}
}

// dataFlags load MNIST: its folder, and whether to check its hashes.
func dataFlags() []cli.Flag {
	return []cli.Flag{dataDirFlag(),
		&cli.BoolFlag{Name: "no-verify", Usage: "skip the SHA-256 check of the data files (other IDX data sets of MNIST's shape)"},
	}
}

// modelFlag names the preset a run starts from.
func modelFlag() cli.Flag {
	return &cli.StringFlag{Name: "model", Value: "baseline", Usage: "baseline, l1, l2, dropout, batch_norm or elastic_net"}
}

// presetDefault is the help's default of a setting that the preset decides
// (model.Preset): baseline has no L1, l1 has λ1 = 1e-4, and so on.
const presetDefault = "the preset's"

// runFlags are the settings of a training run (train and compare): the
// study's training settings, and the overrides of the preset.
func runFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "epochs", Value: train.DefaultEpochs, Usage: "training epochs"},
		&cli.IntFlag{Name: "batch-size", Value: train.DefaultBatchSize, Usage: "images per optimizer step"},
		&cli.Float64Flag{Name: "validation-split", Value: train.DefaultValidationSplit, Usage: "share of the training images, the last ones, held out for validation"},
		&cli.Float64Flag{Name: "lr", Value: train.DefaultLR, Usage: "Adam learning rate"},
		&cli.IntFlag{Name: "train-size", Usage: "use only the first N training images (quick runs); 0 uses all 60,000"},
		&cli.Float64Flag{Name: "l1", DefaultText: presetDefault, Usage: "override: λ1 of the L1 penalty on the hidden kernels"},
		&cli.Float64Flag{Name: "l2", DefaultText: presetDefault, Usage: "override: λ2 of the L2 penalty on the hidden kernels"},
		&cli.Float64Flag{Name: "dropout", DefaultText: presetDefault, Usage: "override: dropout rate after each hidden ReLU, in [0,1)"},
		&cli.BoolFlag{Name: "batch-norm", DefaultText: presetDefault, Usage: "override: BatchNorm after each hidden ReLU (--batch-norm=false removes it)"},
		&cli.StringFlag{Name: "hidden", DefaultText: presetDefault, Usage: "override: hidden layer widths, e.g. 256,128"},
	}
}

// laneFlags say how a study's runs share the device (compare, sweep run,
// and sweep submit, which hands them to its tasks).
func laneFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "lanes", Value: "auto", Usage: fmt.Sprintf("runs trained together as the lanes of one computation: a number in 1..%d "+
			"(1: one run at a time), or auto (every run that can share one: the same network shape, batch size, epochs and data, "+
			"starting from the same point)", device.MaxLanes)},
		&cli.StringFlag{Name: "parallel", Value: "1", Usage: "groups of lanes trained at once on the device: a number ≥ 1, or auto (1: " +
			"one group of many lanes already fills a device)"},
	}
}

// lanes reads --lanes: a number in 1..device.MaxLanes, or "auto" (returned
// as 0: every run that can share a computation shares it).
func lanes(s string) (int, error) {
	if s == "auto" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		return 0, fmt.Errorf("--lanes %q: not a number; want a number in 1..%d, or auto", s, device.MaxLanes)
	case n < 1:
		return 0, fmt.Errorf("--lanes %d: want at least 1 (1 trains one run at a time), or auto", n)
	case n > device.MaxLanes:
		return 0, fmt.Errorf("--lanes %d: at most %d lanes train together (device.MaxLanes); give a smaller number, or auto", n, device.MaxLanes)
	}
	return n, nil
}

// parallel reads --parallel: a number ≥ 1, or "auto" (1).
func parallel(s string) (int, error) {
	if s == "auto" {
		return 1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("--parallel %s: want a number ≥ 1, or auto", s)
	}
	return n, nil
}

// laneOptions reads --lanes and --parallel.
func laneOptions(c *cli.Context) (lanesN, par int, err error) {
	if lanesN, err = lanes(c.String("lanes")); err != nil {
		return 0, 0, err
	}
	if par, err = parallel(c.String("parallel")); err != nil {
		return 0, 0, err
	}
	return lanesN, par, nil
}

// outFlag is a study folder the command writes.
func outFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "out", Value: "results", TakesFile: true, Usage: usage}
}

// maxRunsFlag bounds a grid's size.
func maxRunsFlag() cli.Flag {
	return &cli.IntFlag{Name: "max-runs", Value: sweep.MaxRuns, Usage: "refuse a grid of more runs than this (a typo in seeds or an axis, before any run is made)"}
}

// gridFlag is a sweep's grid file.
func gridFlag() cli.Flag {
	return &cli.StringFlag{Name: "grid", TakesFile: true, Usage: "the sweep's grid, YAML or JSON (" + strings.Join(sweep.Keys(), ", ") + ")"}
}

// flags joins flag sets.
func flags(sets ...[]cli.Flag) []cli.Flag {
	var out []cli.Flag
	for _, s := range sets {
		out = append(out, s...)
	}
	return out
}

// runOverrides are the run flags that were given, as overrides of a preset
// (the training settings included: a value equal to the study's is no
// override, train.NewConfig sees to that).
func runOverrides(c *cli.Context) (train.Overrides, error) {
	var o train.Overrides
	f := func(name string) *float64 {
		if !c.IsSet(name) {
			return nil
		}
		v := c.Float64(name)
		return &v
	}
	n := func(name string) *int {
		if !c.IsSet(name) {
			return nil
		}
		v := c.Int(name)
		return &v
	}
	o.L1, o.L2, o.Dropout = f("l1"), f("l2"), f("dropout")
	o.LR, o.ValidationSplit = f("lr"), f("validation-split")
	o.Epochs, o.BatchSize, o.TrainSize = n("epochs"), n("batch-size"), n("train-size")
	if c.IsSet("batch-norm") {
		v := c.Bool("batch-norm")
		o.BatchNorm = &v
	}
	if c.IsSet("hidden") {
		h, err := model.ParseHidden(c.String("hidden"))
		if err != nil {
			return o, err
		}
		o.Hidden = h
	}
	return o, nil
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// loadData loads MNIST as --data and --no-verify say (commands without
// --no-verify always verify).
func loadData(c *cli.Context) (*mnist.Data, error) {
	return mnist.Load(mnist.Options{Dir: c.String("data"), NoVerify: c.Bool("no-verify")})
}

// openDevice opens --device with --tuning, saying on stderr which device
// it picked and how it is tuned.
func openDevice(c *cli.Context) (device.Device, error) {
	return devices.OpenTuned(c.String("device"), c.String("tuning"), os.Stderr)
}

// printSplit says, before training, what the validation figures of the runs
// cfgs will be measured on, when they all split alike and their train size
// fits the data (else NewTrainer refuses them with its own message).
func printSplit(cfgs []train.Config, data *mnist.Data) {
	if len(cfgs) == 0 {
		return
	}
	c := cfgs[0]
	for _, o := range cfgs[1:] {
		if o.TrainSize != c.TrainSize || o.ValidationSplit != c.ValidationSplit {
			return
		}
	}
	n := data.Train.N
	if c.TrainSize > 0 {
		if c.TrainSize > n {
			return
		}
		n = c.TrainSize
	}
	fmt.Printf("split: %s\n", c.SplitText(n))
}

// dataAndDevice loads the data, then opens the device (the caller closes it).
func dataAndDevice(c *cli.Context) (*mnist.Data, device.Device, error) {
	data, err := loadData(c)
	if err != nil {
		return nil, nil, err
	}
	dev, err := openDevice(c)
	return data, dev, err
}
