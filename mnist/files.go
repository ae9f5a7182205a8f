package mnist

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// File is one of the four canonical MNIST files.
type File struct {
	Name   string // canonical name, gzipped: "train-images-idx3-ubyte.gz"
	SHA256 string // hex SHA-256 of the gzipped file as stored
	Size   int64  // size of the gzipped file in bytes; 0 if unknown
}

// RawName is the name of the uncompressed file: Name without ".gz".
func (f File) RawName() string { return strings.TrimSuffix(f.Name, ".gz") }

// Files lists the canonical files and their hashes in the order train
// images, train labels, test images, test labels. Loading and fetching
// rely on that order.
var Files = []File{
	{Name: "train-images-idx3-ubyte.gz", SHA256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", Size: 9912422},
	{Name: "train-labels-idx1-ubyte.gz", SHA256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", Size: 28881},
	{Name: "t10k-images-idx3-ubyte.gz", SHA256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", Size: 1648877},
	{Name: "t10k-labels-idx1-ubyte.gz", SHA256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", Size: 4542},
}

// hashFile returns the hex SHA-256 of the file at path.
func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// hashError is the refusal of a file whose SHA-256 is not the canonical one.
func hashError(path string, f File, got string) error {
	note := ""
	if !strings.HasSuffix(path, ".gz") {
		note = " (this is an uncompressed file; the published hashes are of the gzipped files)"
	}
	return fileErr(path, ErrHashMismatch,
		"expected %s, got %s%s; this is not the canonical MNIST %s (run `regcl data fetch --dir %s` to replace it, or pass --no-verify to use other IDX data of the same shape, such as Fashion-MNIST)",
		f.SHA256, got, note, f.Name, filepath.Dir(path))
}

// findFile returns the path of f in dir: Name if it exists as a regular
// file, else RawName, else "".
func findFile(dir string, f File) string {
	for _, name := range []string{f.Name, f.RawName()} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}
