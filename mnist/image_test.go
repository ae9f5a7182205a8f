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
		{"the height limit", 1, side, false},
		{"past the height limit", 1, side + 1, true},
		{"the pixel limit", 5000, 8000, false},             // 40,000,000 pixels exactly
		{"past the pixel limit", 5000, 8001, true},         // 40,005,000
		{"past the pixel limit, square", 6325, 6325, true}, // 40,005,625 pixels
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

// TestInvertsLightPictures: a picture is inverted when its border is mostly
// light, its mean over 127 (of 255); at 127 it is taken as MNIST draws
// digits, light on dark, and kept. Both sides, with uniform gray pictures
// (a 28×28 picture is not rescaled).
func TestInvertsLightPictures(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		gray     uint8
		inverted bool
	}{{127, false}, {128, true}, {0, false}, {255, true}} {
		img := image.NewGray(image.Rect(0, 0, mnist.Cols, mnist.Rows))
		for i := range img.Pix {
			img.Pix[i] = c.gray
		}
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "gray.png")
		os.WriteFile(path, b.Bytes(), 0o644)
		ps, err := mnist.ReadPictures(path)
		if err != nil || len(ps) != 1 {
			t.Fatalf("gray %d: %v", c.gray, err)
		}
		want := c.gray
		if c.inverted {
			want = 255 - c.gray
		}
		if ps[0].Inverted != c.inverted || ps[0].Pixels[0] != want || ps[0].Pixels[14*28+14] != want {
			t.Errorf("gray %d: inverted %v, pixels %d; want %v, %d", c.gray, ps[0].Inverted, ps[0].Pixels[0], c.inverted, want)
		}
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
