// Package mnisttest gives tests the real MNIST, loaded once a test binary,
// under one rule: where it cannot be loaded, a test fails when CI is set
// (a green CI run must have trained on it) and is skipped elsewhere.
package mnisttest
