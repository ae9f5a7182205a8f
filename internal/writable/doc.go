// Package writable checks, before a command does any work, that the paths it
// will write can be written: a file that will be replaced or appended to, or
// a folder that will receive files. The checks leave nothing behind: they
// make no folder, and a probe file is removed at once.
package writable
