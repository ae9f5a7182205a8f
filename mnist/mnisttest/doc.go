// Package mnisttest holds what tests of several packages need from mnist:
// the real MNIST, loaded once a test binary, under one rule (where it
// cannot be loaded, a test fails when CI is set, so that a green CI run
// has trained on it, and is skipped elsewhere); and hostile picture files
// whose headers claim sizes a reader must refuse.
package mnisttest
