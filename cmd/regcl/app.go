package main

import (
	"github.com/urfave/cli/v2"
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
		},
		// Errors are printed once, by main, as "regcl: <err>".
		ExitErrHandler:  func(*cli.Context, error) {},
		HideHelpCommand: true,
	}
}
