package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	stop := watchSignals(sigs, cancel, os.Stderr, os.Exit)
	err := newApp().RunContext(ctx, os.Args)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "regcl: %v\n", err)
	}
	os.Exit(exitStatus(err, stop.signal()))
}
