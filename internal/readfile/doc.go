// Package readfile reads whole files with a bound on their size: a size
// read from a file must be bounded before it sizes an allocation, and so
// must a file's own. Every reader of a user's file goes through it.
package readfile
