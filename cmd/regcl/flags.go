package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/devices"
	"github.com/regcl/regcl/mnist"
	"github.com/regcl/regcl/model"
	"github.com/regcl/regcl/train"
)

// runFlags are the settings of a training run, shared by train and compare.
func runFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "epochs", Value: train.DefaultEpochs, Usage: "training epochs"},
		&cli.IntFlag{Name: "batch-size", Value: train.DefaultBatchSize, Usage: "images per optimizer step"},
		&cli.Float64Flag{Name: "validation-split", Value: train.DefaultValidationSplit, Usage: "share of the training images, the last ones, held out for validation"},
		&cli.Float64Flag{Name: "lr", Value: train.DefaultLR, Usage: "Adam learning rate"},
		&cli.IntFlag{Name: "train-size", Usage: "use only the first N training images (quick runs); 0 uses all 60,000"},
		&cli.Float64Flag{Name: "l1", Usage: "override: λ1 of the L1 penalty on the hidden kernels"},
		&cli.Float64Flag{Name: "l2", Usage: "override: λ2 of the L2 penalty on the hidden kernels"},
		&cli.Float64Flag{Name: "dropout", Usage: "override: dropout rate after each hidden ReLU, in [0,1)"},
		&cli.BoolFlag{Name: "batch-norm", Usage: "override: BatchNorm after each hidden ReLU (--batch-norm=false removes it)"},
		&cli.StringFlag{Name: "hidden", Usage: "override: hidden layer widths, e.g. 256,128"},
		&cli.StringFlag{Name: "device", Value: "auto", Usage: "auto, cpu, opencl, or opencl:P:D (see regcl devices)"},
		&cli.StringFlag{Name: "data", Usage: "folder with the four MNIST files (else $REGCL_DATA, the cache, the Go module cache)"},
		&cli.BoolFlag{Name: "no-verify", Usage: "skip the SHA-256 check of the data files (other IDX data sets of MNIST's shape)"},
	}
}

// runConfig builds the run's configuration from the preset and the override flags.
func runConfig(c *cli.Context, method string, seed uint64) (train.Config, error) {
	cfg, err := train.Defaults(method)
	if err != nil {
		return cfg, err
	}
	cfg.Seed = seed
	cfg.Epochs = c.Int("epochs")
	cfg.BatchSize = c.Int("batch-size")
	cfg.ValidationSplit = c.Float64("validation-split")
	cfg.LR = c.Float64("lr")
	cfg.TrainSize = c.Int("train-size")
	var mods []string
	if c.IsSet("l1") {
		cfg.Model.L1 = c.Float64("l1")
		mods = append(mods, fmt.Sprintf("l1=%g", cfg.Model.L1))
	}
	if c.IsSet("l2") {
		cfg.Model.L2 = c.Float64("l2")
		mods = append(mods, fmt.Sprintf("l2=%g", cfg.Model.L2))
	}
	if c.IsSet("dropout") {
		cfg.Model.Dropout = c.Float64("dropout")
		mods = append(mods, fmt.Sprintf("dropout=%g", cfg.Model.Dropout))
	}
	if c.IsSet("batch-norm") {
		cfg.Model.BatchNorm = c.Bool("batch-norm")
		mods = append(mods, fmt.Sprintf("batch_norm=%v", cfg.Model.BatchNorm))
	}
	if c.IsSet("hidden") {
		h, err := model.ParseHidden(c.String("hidden"))
		if err != nil {
			return cfg, err
		}
		cfg.Model.Hidden = h
		mods = append(mods, "hidden="+strings.Trim(strings.ReplaceAll(fmt.Sprint(h), " ", ","), "[]"))
	}
	if len(mods) > 0 {
		cfg.Method += "+" + strings.Join(mods, "+")
	}
	return cfg, cfg.Validate()
}

// loadData loads MNIST as --data and --no-verify say (commands without
// --no-verify always verify).
func loadData(c *cli.Context) (*mnist.Data, error) {
	return mnist.Load(mnist.Options{Dir: c.String("data"), NoVerify: c.Bool("no-verify")})
}

// openDevice opens --device, saying on stderr which device it picked.
func openDevice(c *cli.Context) (device.Device, error) {
	return devices.Open(c.String("device"), os.Stderr)
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
