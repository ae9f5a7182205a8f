package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/regcl/regcl/mnist"
	"github.com/regcl/regcl/model"
	"github.com/regcl/regcl/train"
)

func evalCommand() *cli.Command {
	return &cli.Command{
		Name:      "eval",
		Usage:     "test a saved model: loss, accuracy, per-class accuracy and the confusion matrix",
		ArgsUsage: "MODEL_FILE",
		Flags:     flags(deviceFlags(), dataFlags()),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("eval: %w", argsError("one model file", c.NArg()))
			}
			f, err := model.ReadFile(c.Args().First())
			if err != nil {
				return fmt.Errorf("eval: %w", err)
			}
			data, dev, err := dataAndDevice(c)
			if err != nil {
				return fmt.Errorf("eval: %w", err)
			}
			defer dev.Close()
			t := data.Test
			e, err := train.Evaluate(dev, f, t.Images, t.Labels, t.N)
			if err != nil {
				return fmt.Errorf("eval: %s: %w", c.Args().First(), err)
			}
			fmt.Printf("%s: %s\n", c.Args().First(), f.Config.Describe())
			e.WriteText(os.Stdout)
			return nil
		},
	}
}

func predictCommand() *cli.Command {
	return &cli.Command{
		Name:      "predict",
		Usage:     "classify images (PNG, JPEG or GIF of any size, or IDX image files) with a saved model",
		ArgsUsage: "MODEL_FILE IMAGE...",
		Flags:     deviceFlags(),
		Action: func(c *cli.Context) error {
			if c.NArg() < 2 {
				return fmt.Errorf("predict: %w", argsError("a model file and at least one image", c.NArg()))
			}
			f, err := model.ReadFile(c.Args().First())
			if err != nil {
				return fmt.Errorf("predict: %w", err)
			}
			if f.Config.Inputs != mnist.Rows*mnist.Cols {
				return fmt.Errorf("predict: the model takes %d inputs, not 28×28 images", f.Config.Inputs)
			}
			var pics []mnist.Picture
			for _, p := range c.Args().Slice()[1:] {
				ps, err := mnist.ReadPictures(p)
				if err != nil {
					return fmt.Errorf("predict: %w", err)
				}
				pics = append(pics, ps...)
			}
			dev, err := openDevice(c)
			if err != nil {
				return fmt.Errorf("predict: %w", err)
			}
			defer dev.Close()
			var px []uint8
			for _, p := range pics {
				px = append(px, p.Pixels...)
			}
			probs, err := train.Infer(dev, f, px, len(pics))
			if err != nil {
				return fmt.Errorf("predict: %s: %w", c.Args().First(), err)
			}
			for i, p := range probs {
				k := train.Argmax(p)
				var parts []string
				for d, v := range p {
					parts = append(parts, fmt.Sprintf("%d:%.3f", d, v))
				}
				note := ""
				if pics[i].Inverted {
					note = "  (light background: inverted)"
				}
				fmt.Printf("%s: %d (p=%.3f)  %s%s\n", pics[i].Name, k, p[k], strings.Join(parts, " "), note)
			}
			return nil
		},
	}
}
