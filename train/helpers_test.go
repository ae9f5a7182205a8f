package train

import (
	"os"
	"sync"
	"testing"

	"github.com/regcl/regcl/mnist"
)

var (
	realOnce sync.Once
	realData *mnist.Data
	realErr  error
)

// realMNIST loads the real MNIST (from the Go module cache on a fresh
// machine). Without it the test fails under CI and is skipped elsewhere.
func realMNIST(t testing.TB) *mnist.Data {
	t.Helper()
	realOnce.Do(func() { realData, realErr = mnist.Load(mnist.Options{}) })
	if realErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but MNIST is not available: %v", realErr)
		}
		t.Skipf("MNIST not available: %v", realErr)
	}
	return realData
}
