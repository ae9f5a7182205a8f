package kernels

import (
	"embed"
	"strings"
)

//go:embed *.cl
var files embed.FS

// Files lists the sources in the order they are concatenated: later files
// use what earlier ones define.
var Files = []string{"common.cl", "philox.cl", "elementwise.cl", "gemm.cl", "batchnorm.cl", "softmax.cl", "adam.cl"}

// Source returns the whole program: every file of Files, each preceded by a
// #line directive so the compiler's messages name the right file and line.
func Source() string {
	var b strings.Builder
	for _, name := range Files {
		src, err := files.ReadFile(name)
		if err != nil {
			panic("kernels: missing embedded source " + name) // a build defect, caught by the package's tests
		}
		b.WriteString("#line 1 \"" + name + "\"\n")
		b.Write(src)
		b.WriteString("\n")
	}
	return b.String()
}
