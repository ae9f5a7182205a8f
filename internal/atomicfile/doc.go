// Package atomicfile writes files so that a crash never leaves a partial
// file under the real name: a temporary file in the same folder, fsynced,
// then renamed over the destination, and the folder fsynced.
package atomicfile
