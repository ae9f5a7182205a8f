// Command mutants is the mutation check of the study's semantics: each
// mutant (the list in main.go) changes one constant, one piece of wiring or
// one step of the loop that DESIGN.md pins (a Keras default, where the
// penalty applies, how the last batch is scaled, …), or moves one bound by
// one step (DESIGN.md, "Bounds on inputs": a ≤ for a <, a limit one higher),
// is applied to a scratch copy of the tree, and must make the tests that pin
// that semantics fail: each bound's test checks both sides of it. It prints one line per mutant with the tests that killed it, then
// "N killed, M survived", and exits 1 on any survivor, or when a mutant no
// longer applies (its code changed: update the mutant with it).
//
//	go run ./tools/mutants [-j 2] [-only NAME,NAME]
//
// CI runs it from .ci/run. Mutants of the kernels and of each backend
// operation are the conformance suite's job (device/devicetest's
// TestSuiteCatchesBugs); these are the layers above it, which the
// conformance suite cannot see.
package main
