package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/regcl/regcl/train"
)

// Exit statuses (README, "Stopping"):
//
//	0        done
//	1        failed: bad input, an error, or a hard exit (a second stop
//	         request) that saved nothing
//	130/143  stopped by SIGINT/SIGTERM (128 + the signal's number, as shells
//	         report a process a signal ended), having saved the checkpoint
//	         and the history: the last line says how to go on
const (
	exitFailed = 1
	exitSignal = 128 // + the signal's number
)

// exitStatus is the status of a command that returned err, stop being the
// signal that asked it to stop (nil for none).
func exitStatus(err error, stop os.Signal) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, train.ErrInterrupted) && stop != nil:
		if s, ok := stop.(syscall.Signal); ok {
			return exitSignal + int(s)
		}
	}
	return exitFailed
}

// sameRequest is how close to the first stop request another signal must
// come to be the same request delivered twice: `timeout`, process managers
// and schedulers send a signal both to the process and to its process group,
// and a user may press Ctrl-C while a scheduler sends SIGTERM. A second
// request after it is deliberate.
const sameRequest = time.Second

// stopState records the first stop request.
type stopState struct {
	mu    sync.Mutex
	first os.Signal
}

func (s *stopState) signal() os.Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first
}

// watchSignals handles the stop requests that arrive on sigs (SIGINT,
// SIGTERM). The first cancels the run's context: training stops after the
// steps already on the device (at most one on a slow device), saves a
// checkpoint and the history, and says where they are. Signals within
// sameRequest of it are the same request. A signal after that exits at once
// (exit(exitFailed)), without them, saying so.
func watchSignals(sigs <-chan os.Signal, cancel func(), w io.Writer, exit func(int)) *stopState {
	st := &stopState{}
	go func() {
		s, ok := <-sigs
		if !ok {
			return
		}
		at := time.Now()
		st.mu.Lock()
		st.first = s
		st.mu.Unlock()
		fmt.Fprintf(w, "regcl: %v: stopping after the current step to save a checkpoint and the history (signals within %v count as this one; a later one exits at once, without them)\n", s, sameRequest)
		cancel()
		for s := range sigs {
			if time.Since(at) < sameRequest {
				continue // the same request, delivered twice
			}
			fmt.Fprintf(w, "regcl: a second stop request (%v): exiting now, without a checkpoint or the history\n", s)
			exit(exitFailed)
			return
		}
	}()
	return st
}
