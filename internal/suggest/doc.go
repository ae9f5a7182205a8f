// Package suggest finds the nearest of a few names to a mistyped one, for
// messages such as `unknown key "l1s" (did you mean "l1"?)`: the grid's keys
// (package sweep) and the command line's flags (cmd/regcl) ask it.
package suggest
