package main

import (
	"os"

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
