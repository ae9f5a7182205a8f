package mnisttest

import (
	"os"
	"sync"
	"testing"

	"github.com/regcl/regcl/mnist"
)

var (
	once sync.Once
	data *mnist.Data
	err  error
)

// Real returns the real MNIST (from the Go module cache on a fresh
// machine), fails t when CI is set and it is not available, and skips t
// otherwise.
func Real(t testing.TB) *mnist.Data {
	t.Helper()
	once.Do(func() { data, err = mnist.Load(mnist.Options{}) })
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but MNIST is not available: %v", err)
		}
		t.Skipf("MNIST not available: %v", err)
	}
	return data
}
