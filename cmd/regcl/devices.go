package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/regcl/regcl/device/devices"
	"github.com/regcl/regcl/device/opencl"
)

func devicesCommand() *cli.Command {
	return &cli.Command{
		Name:  "devices",
		Usage: "list every OpenCL platform and device (and the CPU fallback), and whether each is tuned",
		Flags: []cli.Flag{tuningFlag()},
		Action: func(c *cli.Context) error {
			infos, lib, err := devices.List()
			w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "DEVICE\tNAME\tVENDOR\tTYPE\tOPENCL\tDRIVER\tUNITS\tGLOBAL MEM\tLOCAL MEM\tMAX WG\tVECTOR\tTUNING")
			for _, i := range infos {
				fmt.Fprintf(w, "opencl:%d:%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%d\t%d/%d\t%s\n", i.Platform, i.Device, i.Name, i.Vendor,
					i.Type, i.Version, i.Driver, i.ComputeUnits, bytesIEC(i.GlobalMem), bytesIEC(i.LocalMem), i.MaxWorkGroupSize,
					i.PrefVecFloat, i.NativeVecFloat, opencl.TuningStatus(i, c.String("tuning")))
			}
			fmt.Fprintln(w, "cpu\tgonum (pure Go)\t-\tCPU\t-\t-\t-\t-\t-\t-\t-\t-")
			w.Flush()
			if err != nil {
				fmt.Fprintf(os.Stderr, "no OpenCL devices: %v\n", err)
			} else {
				fmt.Printf("OpenCL library: %s\n", lib)
			}
			return nil
		},
	}
}

func bytesIEC(b uint64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}
