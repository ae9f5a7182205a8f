package device_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/cpu"
)

// TestRate: a call that sleeps 2 ms, timed in batches of at least 20 ms,
// runs at no more than 500 calls a second (sleeps last at least as long as
// asked) and, with a generous margin for a loaded machine, at more than 50;
// a context already done yields its error, not a rate.
func TestRate(t *testing.T) {
	be := cpu.New[float32](1)
	calls := 0
	call := func() { calls++; time.Sleep(2 * time.Millisecond) }
	r, err := device.Rate(context.Background(), be, 1, call, 20*time.Millisecond, 3)
	if err != nil {
		t.Fatal(err)
	}
	if r > 500 || r < 50 {
		t.Errorf("rate %.1f calls/s, want in (50, 500]", r)
	}
	if calls < 2+3*2 {
		t.Errorf("%d calls: a warm-up, a sizing call and 3 batches of several calls each expected", calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := device.Rate(ctx, be, 1, call, 20*time.Millisecond, 3); !errors.Is(err, context.Canceled) {
		t.Errorf("done context: err %v, want context.Canceled", err)
	}
}
