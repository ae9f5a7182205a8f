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
	stopOnSignals(cancel)
	err := newApp().RunContext(ctx, os.Args)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "regcl: %v\n", err)
		os.Exit(1)
	}
}

// stopOnSignals: the first SIGINT or SIGTERM cancels the run's context —
// training stops after the steps already on the device (at most one on a
// slow device), saves a checkpoint and the history, and says where they
// are. A second one exits at once, without them, saying so.
func stopOnSignals(cancel func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "regcl: %v: stopping after the current step to save a checkpoint and the history (a second signal exits at once, without them)\n", s)
		cancel()
		s = <-sigs
		fmt.Fprintf(os.Stderr, "regcl: a second %v: exiting now, without a checkpoint or the history\n", s)
		os.Exit(130)
	}()
}
