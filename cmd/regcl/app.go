package main

import (
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/regcl/regcl/internal/atomicfile"
)

// newApp assembles the command line; each subcommand lives in its own file.
func newApp() *cli.App {
	return &cli.App{
		Name:  "regcl",
		Usage: "compare regularization methods for dense networks on MNIST, on OpenCL or the CPU",
		Commands: []*cli.Command{
			trainCommand(),
			dataCommand(),
			devicesCommand(),
			evalCommand(),
			benchCommand(),
			compareCommand(),
			sweepCommand(),
			reportCommand(),
			predictCommand(),
			tuneCommand(),
		},
		// Errors are printed once, by main, as "regcl: <err>".
		ExitErrHandler:  func(*cli.Context, error) {},
		HideHelpCommand: true,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("unknown command %q (regcl --help lists them)", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		Before: func(*cli.Context) error {
			// A testing aid: pause in the middle of every atomic file write, so
			// that a test can kill the process there.
			if v := os.Getenv("REGCL_TEST_WRITE_DELAY"); v != "" {
				d, err := time.ParseDuration(v)
				if err != nil {
					return fmt.Errorf("REGCL_TEST_WRITE_DELAY: %w", err)
				}
				atomicfile.WriteDelay = d
			}
			return nil
		},
	}
}
