package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/regcl/regcl/mnist"
)

// dataCommand is `regcl data` (where the MNIST files are and whether they
// are intact) and `regcl data fetch` (put verified copies into a folder).
func dataCommand() *cli.Command {
	cacheText := "the user cache folder/regcl/mnist"
	if d, err := mnist.CacheDir(); err == nil {
		cacheText = d
	}
	return &cli.Command{
		Name:  "data",
		Usage: "show where the MNIST files are found and whether their SHA-256 hashes match",
		Description: "Lists the places MNIST is looked for, in order: --data, $" + mnist.EnvVar +
			", the user cache folder, and the Go module cache (module " + mnist.DataModule + "),\n" +
			"which of the four files each holds, whether each hash matches, and which would be used.",
		Flags: []cli.Flag{dataDirFlag()},
		Action: func(c *cli.Context) error {
			rows, err := mnist.Status(c.String("data"))
			writeStatus(c.App.Writer, rows)
			if err != nil {
				return fmt.Errorf("data: %w", err)
			}
			for _, r := range rows {
				if r.Used && !r.HashOK {
					return fmt.Errorf("data: %s in %s: SHA-256 mismatch; run `regcl data fetch --dir %s` to replace it, or pass --no-verify to use other IDX data of the same shape", r.File.Name, r.Dir, r.Dir)
				}
			}
			return nil
		},
		Subcommands: []*cli.Command{{
			Name:  "fetch",
			Usage: "put verified copies of the four MNIST files into a folder",
			Description: "Copies the files from the Go module cache when they are there, else downloads them from\n" +
				"the public mirrors Keras and torchvision use; each file gets its final name only once its\n" +
				"SHA-256 matches. Files already present with the right hash are kept.",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "dir", Usage: "folder to fill", DefaultText: cacheText, TakesFile: true},
			},
			Action: func(c *cli.Context) error {
				dir := c.String("dir")
				if dir == "" {
					d, err := mnist.CacheDir()
					if err != nil {
						return fmt.Errorf("data fetch: %w", err)
					}
					dir = d
				}
				ctx, stop := signal.NotifyContext(c.Context, os.Interrupt)
				defer stop()
				if err := mnist.Fetch(ctx, dir, c.App.ErrWriter); err != nil {
					return fmt.Errorf("data fetch: %w", err)
				}
				fmt.Fprintf(c.App.Writer, "MNIST is in %s\n", dir)
				return nil
			},
		}},
	}
}

// writeStatus prints the rows of mnist.Status grouped by location; "*"
// marks the location that would be used.
func writeStatus(w io.Writer, rows []mnist.FileStatus) {
	for i := 0; i < len(rows); {
		r := rows[i]
		mark, state := " ", ""
		switch {
		case r.Used:
			mark, state = "*", " (used)"
		case r.Note != "":
			state = ": " + r.Note
		}
		if r.Dir == "" {
			fmt.Fprintf(w, "%s %-12s  %s\n", mark, r.Source, r.Note)
		} else {
			fmt.Fprintf(w, "%s %-12s  %s%s\n", mark, r.Source, r.Dir, state)
		}
		j := i
		for ; j < len(rows) && rows[j].Source == r.Source; j++ {
			f := rows[j]
			if !f.Set || f.Note != "" {
				continue
			}
			name := f.File.Name
			if f.Path != "" {
				name = filepath.Base(f.Path)
			}
			switch {
			case f.Path == "":
				fmt.Fprintf(w, "      %-28s  missing\n", name)
			case f.Err != nil:
				fmt.Fprintf(w, "      %-28s  unreadable: %v\n", name, f.Err)
			case f.HashOK:
				fmt.Fprintf(w, "      %-28s  present, SHA-256 ok\n", name)
			default:
				fmt.Fprintf(w, "      %-28s  present, SHA-256 MISMATCH: %s\n", name, f.SHA256)
			}
		}
		i = j
	}
}
