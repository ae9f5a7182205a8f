// Command regcl trains dense networks on MNIST to compare regularization methods.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "regcl: %v\n", err)
		os.Exit(1)
	}
}
