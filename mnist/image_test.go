package mnist_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regcl/regcl/mnist"
	"github.com/regcl/regcl/mnist/mnisttest"
)

// TestPictureBounds: a picture's declared size is checked before it is
// decoded: at the limits it is decoded (and this header-only file then
// fails as undecodable), past them it is refused with a message saying so,
// without decoding.
func TestPictureBounds(t *testing.T) {
	dir := t.TempDir()
	side := uint32(mnist.MaxPictureSide)
	for _, c := range []struct {
		name    string
		w, h    uint32
		refused bool
	}{
		{"the side limit", side, 1, false},
		{"past the side limit", side + 1, 1, true},
		{"the pixel limit", side, mnist.MaxPicturePixels / side, false},
		{"past the pixel limit", 6325, 6325, true}, // 40,005,625 pixels
		{"60000×60000", 60000, 60000, true},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".png")
		if err := os.WriteFile(path, mnisttest.PNG(c.w, c.h, nil), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := mnist.ReadPictures(path)
		if err == nil {
			t.Fatalf("%s: a header-only PNG decoded", c.name)
		}
		if got := strings.Contains(err.Error(), "predict takes at most"); got != c.refused {
			t.Errorf("%s (%d×%d): %v; refused by size: %v, want %v", c.name, c.w, c.h, err, got, c.refused)
		}
	}
	// A real picture within the limits reads.
	img := image.NewGray(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	img.SetGray(20, 15, color.Gray{Y: 0})
	var b bytes.Buffer
	png.Encode(&b, img)
	path := filepath.Join(dir, "digit.png")
	os.WriteFile(path, b.Bytes(), 0o644)
	ps, err := mnist.ReadPictures(path)
	if err != nil || len(ps) != 1 || !ps[0].Inverted || len(ps[0].Pixels) != mnist.Rows*mnist.Cols {
		t.Fatalf("a 40×30 light picture: %+v, %v", ps, err)
	}
}

// TestPictureFileBound: a file larger than mnist.MaxPictureFile is refused before
// it is read.
func TestPictureFileBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(mnisttest.PNG(10, 10, nil))
	if err := f.Truncate(mnist.MaxPictureFile + 1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	if _, err := mnist.ReadPictures(path); err == nil || !strings.Contains(err.Error(), "more than the") {
		t.Errorf("a file of mnist.MaxPictureFile+1 bytes: %v", err)
	}
	os.Truncate(path, mnist.MaxPictureFile)
	if _, err := mnist.ReadPictures(path); err == nil || strings.Contains(err.Error(), "more than the") {
		t.Errorf("a file of mnist.MaxPictureFile bytes was refused by size: %v", err)
	}
}
