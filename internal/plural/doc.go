// Package plural writes a count with its noun in the right number: "1 run",
// "3 runs", "0 runs". Every message that counts something goes through it,
// so that none says "1 runs" or "got 1 arguments".
package plural
