package report

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// penaltyFamily gathers the methods that differ only in one penalty's
// strength (a sweep over it): one line of the accuracy-against-strength plot.
type penaltyFamily struct {
	name   string // the method without the varied penalty, e.g. "dropout" or "l2+dropout=0.2"
	points []penaltyPoint
}

type penaltyPoint struct {
	lambda float64
	g      *group
}

// penaltyFamilies returns, for the penalty which ("l1" or "l2"), the families
// with at least two strengths, in a fixed order. A method's family is its
// preset and overrides but the penalty; its strength is the configuration's.
func penaltyFamilies(gs []*group, which string) []penaltyFamily {
	byName := map[string]*penaltyFamily{}
	var order []string
	for _, g := range gs {
		if g.preset == "" || len(g.runs) == 0 {
			continue
		}
		lambda := g.cfg.Model.L1
		if which == "l2" {
			lambda = g.cfg.Model.L2
		}
		name := g.over.Without(which).Label(g.preset)
		f := byName[name]
		if f == nil {
			f = &penaltyFamily{name: name}
			byName[name] = f
			order = append(order, name)
		}
		f.points = append(f.points, penaltyPoint{lambda, g})
	}
	var out []penaltyFamily
	for _, n := range order {
		f := byName[n]
		if len(f.points) < 2 {
			continue
		}
		sort.SliceStable(f.points, func(i, j int) bool { return f.points[i].lambda < f.points[j].lambda })
		out = append(out, *f)
	}
	return out
}

// penaltyCaption describes the plot of penalty which.
func penaltyCaption(which string) string {
	sym := map[string]string{"l1": "λ1 (L1)", "l2": "λ2 (L2)"}[which]
	return fmt.Sprintf("Test accuracy against the penalty strength %s, one line per method: points are the mean over seeds, "+
		"whiskers the 95 %% confidence interval (Wilson score interval). The x axis is logarithmic; λ = 0 is drawn at its left edge.", sym)
}

// penaltyPlot draws test accuracy against the strength of penalty which.
func penaltyPlot(fs []penaltyFamily, which string) (*plot.Plot, []legendItem, error) {
	label := map[string]string{"l1": "λ1 of λ1·Σ|W| (hidden kernels)", "l2": "λ2 of λ2·ΣW² (hidden kernels)"}[which]
	p := newPlot("Test accuracy against penalty strength\n(mean over seeds, 95 % CI)", label, "test accuracy")
	// The smallest positive strength sets the axis; zero sits a decade below it.
	minPos := math.Inf(1)
	for _, f := range fs {
		for _, pt := range f.points {
			if pt.lambda > 0 {
				minPos = math.Min(minPos, pt.lambda)
			}
		}
	}
	if math.IsInf(minPos, 1) {
		minPos = 1e-4
	}
	zeroAt := math.Pow(10, math.Floor(math.Log10(minPos))-1)
	x := func(l float64) float64 {
		if l <= 0 {
			return zeroAt
		}
		return l
	}
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		var ts []plot.Tick
		for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi*1.0001; e++ {
			v := math.Pow(10, e)
			lab := fmt.Sprintf("1e%d", int(e))
			if v == zeroAt {
				lab = "0"
			}
			ts = append(ts, plot.Tick{Value: v, Label: lab})
		}
		return ts
	})
	var items []legendItem
	for i, f := range fs {
		col, dashes, glyph := seriesStyle(i)
		var xys plotter.XYs
		var ci ciBars
		for _, pt := range f.points {
			xys = append(xys, plotter.XY{X: x(pt.lambda), Y: pt.g.MeanTestAccuracy})
			if !math.IsNaN(pt.g.CI95Low) {
				ci.XYs = append(ci.XYs, plotter.XY{X: x(pt.lambda), Y: pt.g.MeanTestAccuracy})
				ci.YErrors = append(ci.YErrors, struct{ Low, High float64 }{
					pt.g.MeanTestAccuracy - pt.g.CI95Low, pt.g.CI95High - pt.g.MeanTestAccuracy})
			}
		}
		l, s, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, nil, err
		}
		l.Color, l.Dashes, l.Width = col, dashes, vg.Points(1.5)
		s.Color, s.Shape, s.Radius = col, glyph, vg.Points(3)
		p.Add(l, s)
		if len(ci.XYs) > 0 {
			eb, err := plotter.NewYErrorBars(ci)
			if err != nil {
				return nil, nil, err
			}
			eb.LineStyle.Color, eb.CapWidth = col, vg.Points(6)
			p.Add(eb)
		}
		items = append(items, legendItem{shorten(f.name, legendName), []plot.Thumbnailer{l, s}})
	}
	return p, items, nil
}
