package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/regcl/regcl/internal/plural"
	"github.com/regcl/regcl/train"
)

// Every plot is a PNG of PlotWidth × PlotHeight at PlotDPI, that is
// PlotPixelsWide × PlotPixelsHigh pixels.
const (
	PlotWidth      = 6 * vg.Inch
	PlotHeight     = 4 * vg.Inch
	PlotDPI        = 150
	PlotPixelsWide = 900 // 6 in × 150 dpi
	PlotPixelsHigh = 600 // 4 in × 150 dpi
)

// figure is one written plot, for report.md.
type figure struct {
	path    string // relative to report.md, with '/' separators
	caption string
}

// writePlots draws every plot and hands each PNG to write (with its name in
// the assets folder, which is at assets from report.md). It returns the
// figures in the order report.md shows them.
func writePlots(gs []*group, assets string, write func(name string, data []byte) error) ([]figure, error) {
	type job struct {
		name, caption string
		draw          func() (*plot.Plot, []legendItem, error)
	}
	jobs := []job{
		{"test_accuracy.png", testAccuracyCaption, func() (*plot.Plot, []legendItem, error) { return testAccuracyPlot(gs) }},
		{"validation_accuracy.png", "Validation accuracy per epoch, mean over each method's seeds.",
			func() (*plot.Plot, []legendItem, error) { return validationPlot(gs) }},
	}
	if hasWeights(gs) {
		jobs = append(jobs, job{"weights.png", weightsCaption,
			func() (*plot.Plot, []legendItem, error) { return weightsPlot(gs) }})
	}
	for _, which := range []string{"l1", "l2"} {
		if fs := penaltyFamilies(gs, which); len(fs) > 0 {
			jobs = append(jobs, job{"accuracy_vs_" + which + ".png", penaltyCaption(which),
				func() (*plot.Plot, []legendItem, error) { return penaltyPlot(fs, which) }})
		}
	}
	for _, g := range gs {
		for _, k := range []curveKind{accuracyCurve, lossCurve} {
			jobs = append(jobs, job{g.file + "_" + k.name + ".png", curveCaption(g, k),
				func() (*plot.Plot, []legendItem, error) { return curvePlot(g, k) }})
		}
	}
	var figs []figure
	for _, j := range jobs {
		p, leg, err := j.draw()
		if err != nil {
			return nil, fmt.Errorf("plotting %s: %w", j.name, err)
		}
		png, err := render(p, leg)
		if err != nil {
			return nil, fmt.Errorf("plotting %s: %w", j.name, err)
		}
		if err := write(j.name, png); err != nil {
			return nil, err
		}
		figs = append(figs, figure{path: assets + "/" + j.name, caption: j.caption})
	}
	return figs, nil
}

// ---- layout ----

// legendItem is one legend entry; render draws the legend outside the data
// area, so that it never covers a curve.
type legendItem struct {
	name   string
	thumbs []plot.Thumbnailer
}

const (
	margin    = 6 // points around the figure
	legendGap = 8 // points between the plot and its legend
)

// render draws p with its legend to the right (below, when the entries are
// too wide for that) and encodes the PNG.
func render(p *plot.Plot, items []legendItem) ([]byte, error) {
	c := vgimg.NewWith(vgimg.UseWH(PlotWidth, PlotHeight), vgimg.UseDPI(PlotDPI))
	dc := draw.Crop(draw.New(c), vg.Points(margin), -vg.Points(margin), vg.Points(margin), -vg.Points(margin))
	if len(items) == 0 {
		p.Draw(dc)
	} else {
		l := plot.NewLegend()
		l.TextStyle.Font.Size = vg.Points(10)
		l.Top, l.Left = true, true
		l.Padding = vg.Points(2)
		for _, it := range items {
			l.Add(it.name, it.thumbs...)
		}
		size := l.Rectangle(dc).Size()
		gap := vg.Points(legendGap)
		if size.X < 0.42*dc.Size().X {
			w := size.X + gap
			p.Draw(draw.Crop(dc, 0, -w, 0, 0))
			l.Draw(draw.Crop(dc, dc.Size().X-size.X, 0, 0, -titleHeight(p)))
		} else {
			h := size.Y + gap
			p.Draw(draw.Crop(dc, 0, 0, h, 0))
			l.Draw(draw.Crop(dc, 0, 0, 0, -(dc.Size().Y - size.Y)))
		}
	}
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// titleHeight is the height the title of p takes above the data area.
func titleHeight(p *plot.Plot) vg.Length {
	if p.Title.Text == "" {
		return 0
	}
	return p.Title.TextStyle.Rectangle(p.Title.Text).Size().Y + p.Title.Padding
}

// newPlot is a plot with the report's fonts, a title, axis labels and a
// light grid.
func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(12)
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text, p.Y.Label.Text = x, y
	p.X.Label.TextStyle.Font.Size = vg.Points(11)
	p.Y.Label.TextStyle.Font.Size = vg.Points(11)
	p.X.Tick.Label.Font.Size = vg.Points(10)
	p.Y.Tick.Label.Font.Size = vg.Points(10)
	p.Y.Tick.Marker = plot.TickerFunc(niceTicks)
	grid := plotter.NewGrid()
	grid.Horizontal.Color = color.Gray{Y: 0xdd}
	grid.Vertical.Color = color.Gray{Y: 0xdd}
	p.Add(grid)
	return p
}

// palette is Okabe and Ito's colour-blind-safe palette (yellow last: it is
// faint on white).
var palette = []color.RGBA{
	{0x00, 0x72, 0xB2, 0xff}, // blue
	{0xD5, 0x5E, 0x00, 0xff}, // vermillion
	{0x00, 0x9E, 0x73, 0xff}, // bluish green
	{0xCC, 0x79, 0xA7, 0xff}, // reddish purple
	{0xE6, 0x9F, 0x00, 0xff}, // orange
	{0x56, 0xB4, 0xE9, 0xff}, // sky blue
	{0x00, 0x00, 0x00, 0xff}, // black
	{0xF0, 0xE4, 0x42, 0xff}, // yellow
}

// seriesStyle gives series i (a method's index in the report order) its
// colour, dash pattern and glyph, the same in every plot.
func seriesStyle(i int) (color.RGBA, []vg.Length, draw.GlyphDrawer) {
	dashes := [][]vg.Length{nil, {vg.Points(6), vg.Points(3)}, {vg.Points(2), vg.Points(2)},
		{vg.Points(6), vg.Points(2), vg.Points(2), vg.Points(2)}}
	glyphs := []draw.GlyphDrawer{draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{},
		draw.RingGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{}, draw.CrossGlyph{}, draw.PlusGlyph{}}
	n := len(palette)
	return palette[i%n], dashes[(i/n)%len(dashes)], glyphs[i%len(glyphs)]
}

// shorten cuts a name that would crowd a plot to n characters, ending in
// "…"; report.md has the full names.
func shorten(name string, n int) string {
	r := []rune(name)
	if len(r) <= n {
		return name
	}
	return string(r[:n-1]) + "…"
}

// Longest method names shown whole in titles, legends and tick labels.
const (
	titleName  = 60
	legendName = 20
	tickName   = 18
)

// methodTitle is a title about a method: "<method>: <what>" on one line
// when it fits, on two otherwise.
func methodTitle(method, what string) string {
	if len([]rune(method))+len(what) <= titleName {
		return method + ": " + what
	}
	return shorten(method, titleName) + "\n" + what
}

func transparent(c color.RGBA, alpha uint8) color.NRGBA {
	return color.NRGBA{R: c.R, G: c.G, B: c.B, A: alpha}
}

// intTicks marks whole numbers only (epochs), at most about ten of them.
func intTicks(min, max float64) []plot.Tick {
	step := 1.0
	for _, s := range []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000} {
		step = s
		if (max-min)/s <= 10 {
			break
		}
	}
	var ts []plot.Tick
	for v := math.Ceil(min/step) * step; v <= max; v += step {
		ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return ts
}

// niceTicks marks 4 to 8 round values (steps of 1, 2, 2.5 or 5 times a
// power of ten), labelled with just the decimals the step needs, and minor
// ticks between them.
func niceTicks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	mag := math.Pow10(int(math.Floor(math.Log10((hi - lo) / 7))))
	step, minors := 10*mag, 5
	for _, m := range []struct {
		mult   float64
		minors int
	}{{1, 5}, {2, 4}, {2.5, 5}, {5, 5}} {
		if (hi-lo)/(m.mult*mag) <= 7 {
			step, minors = m.mult*mag, m.minors
			break
		}
	}
	decimals := 0
	for ; decimals < 15; decimals++ {
		x := step * math.Pow10(decimals)
		if math.Abs(x-math.Round(x)) < 1e-6 {
			break
		}
	}
	minor := step / float64(minors)
	var ts []plot.Tick
	for k := int(math.Ceil(lo/minor - 1e-9)); float64(k)*minor <= hi+1e-9*minor; k++ {
		v := float64(k) * minor
		t := plot.Tick{Value: v}
		if k%minors == 0 {
			t.Label = strconv.FormatFloat(v, 'f', decimals, 64)
		}
		ts = append(ts, t)
	}
	return ts
}

// ---- learning curves ----

// curveKind selects a pair of learning curves: training and validation.
type curveKind struct {
	name, label  string
	train, valid func(train.EpochMetrics) float64
}

var (
	accuracyCurve = curveKind{"accuracy", "accuracy",
		func(m train.EpochMetrics) float64 { return m.Accuracy },
		func(m train.EpochMetrics) float64 { return m.ValAccuracy }}
	lossCurve = curveKind{"loss", "loss",
		func(m train.EpochMetrics) float64 { return m.Loss },
		func(m train.EpochMetrics) float64 { return m.ValLoss }}
)

// band is a curve over epochs across a method's runs: the mean, and the
// minimum and maximum over runs, at each epoch that at least one run has.
type band struct {
	x, mean, lo, hi []float64
	runs            int
}

func epochBand(runs []*train.Result, get func(train.EpochMetrics) float64) band {
	b := band{runs: len(runs)}
	for e := 0; ; e++ {
		var vs []float64
		for _, r := range runs {
			if e < len(r.History) {
				vs = append(vs, get(r.History[e]))
			}
		}
		if len(vs) == 0 {
			return b
		}
		lo, hi := vs[0], vs[0]
		for _, v := range vs {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		b.x = append(b.x, float64(e+1))
		b.mean = append(b.mean, stat.Mean(vs, nil))
		b.lo, b.hi = append(b.lo, lo), append(b.hi, hi)
	}
}

// addBand draws b's mean as a line with points and, over several runs, its
// min–max range as a shaded band beneath. It returns the legend thumbnails.
func addBand(p *plot.Plot, b band, col color.RGBA, dashes []vg.Length, glyph draw.GlyphDrawer) ([]plot.Thumbnailer, error) {
	var thumbs []plot.Thumbnailer
	if b.runs > 1 {
		var pts plotter.XYs
		for i := range b.x {
			pts = append(pts, plotter.XY{X: b.x[i], Y: b.lo[i]})
		}
		for i := len(b.x) - 1; i >= 0; i-- {
			pts = append(pts, plotter.XY{X: b.x[i], Y: b.hi[i]})
		}
		poly, err := plotter.NewPolygon(pts)
		if err != nil {
			return nil, err
		}
		poly.Color = transparent(col, 0x48)
		poly.LineStyle.Width = 0
		p.Add(poly)
		thumbs = append(thumbs, poly)
	}
	var pts plotter.XYs
	for i := range b.x {
		pts = append(pts, plotter.XY{X: b.x[i], Y: b.mean[i]})
	}
	line, sc, err := plotter.NewLinePoints(pts)
	if err != nil {
		return nil, err
	}
	line.Color, line.Width, line.Dashes = col, vg.Points(1.5), dashes
	sc.Color, sc.Shape, sc.Radius = col, glyph, vg.Points(2)
	p.Add(line, sc)
	return append(thumbs, line, sc), nil
}

func seedsText(n int) string { return plural.Count(n, "seed", "seeds") }

// curvePlot is one method's training and validation curves of one kind.
func curvePlot(g *group, k curveKind) (*plot.Plot, []legendItem, error) {
	sub := "one run"
	if g.Runs > 1 {
		sub = fmt.Sprintf("lines: mean of %s; shaded: min–max over seeds", seedsText(g.Runs))
	}
	p := newPlot(methodTitle(g.Method, "training vs validation "+k.label)+"\n"+sub, "epoch", k.label)
	p.X.Tick.Marker = plot.TickerFunc(intTicks)
	var items []legendItem
	for i, s := range []struct {
		name string
		get  func(train.EpochMetrics) float64
	}{{"training", k.train}, {"validation", k.valid}} {
		col, dashes, glyph := seriesStyle(i)
		thumbs, err := addBand(p, epochBand(g.runs, s.get), col, dashes, glyph)
		if err != nil {
			return nil, nil, err
		}
		items = append(items, legendItem{s.name, thumbs})
	}
	return p, items, nil
}

func curveCaption(g *group, k curveKind) string {
	if g.Runs == 1 {
		return fmt.Sprintf("%s: training vs validation %s per epoch (one run).", g.Method, k.label)
	}
	return fmt.Sprintf("%s: training vs validation %s per epoch; lines are the mean of %s, shaded bands span their minimum to maximum.",
		g.Method, k.label, seedsText(g.Runs))
}

// validationPlot shows every method's mean validation accuracy.
func validationPlot(gs []*group) (*plot.Plot, []legendItem, error) {
	p := newPlot("Validation accuracy by method\n(mean over seeds)", "epoch", "validation accuracy")
	p.X.Tick.Marker = plot.TickerFunc(intTicks)
	var items []legendItem
	for i, g := range gs {
		col, dashes, glyph := seriesStyle(i)
		b := epochBand(g.runs, accuracyCurve.valid)
		b.runs = 1 // lines only: the bands of six methods would hide each other
		thumbs, err := addBand(p, b, col, dashes, glyph)
		if err != nil {
			return nil, nil, err
		}
		items = append(items, legendItem{fmt.Sprintf("%s (%s)", shorten(g.Method, legendName), seedsText(g.Runs)), thumbs})
	}
	return p, items, nil
}

// ---- test accuracy ----

// ciBars are the error bars of a 95 % confidence interval.
type ciBars struct {
	plotter.XYs
	plotter.YErrors
}

const testAccuracyCaption = "Test accuracy by method: bars are the mean over seeds, whiskers its 95 % confidence interval " +
	"(Wilson score interval; none for a single run), dots the single runs, crosses the study's single reported figure " +
	"where the runs have the study's setup. " +
	"The y axis does not start at 0."

// testAccuracyPlot is a bar per method (the mean test accuracy) with its 95 %
// confidence interval, the single runs and the study's figure, on a y axis
// zoomed to the data.
func testAccuracyPlot(gs []*group) (*plot.Plot, []legendItem, error) {
	p := newPlot("Test accuracy by method\n(mean, 95 % CI, single runs)", "", "test accuracy")
	var names []string
	var means plotter.Values
	var ci ciBars
	var runs, reported plotter.XYs
	lo, hi := math.Inf(1), math.Inf(-1)
	extend := func(v float64) {
		if !math.IsNaN(v) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	for i, g := range gs {
		x := float64(i)
		names = append(names, shorten(g.Method, tickName))
		means = append(means, g.MeanTestAccuracy)
		extend(g.MeanTestAccuracy)
		if !math.IsNaN(g.CI95Low) {
			ci.XYs = append(ci.XYs, plotter.XY{X: x, Y: g.MeanTestAccuracy})
			ci.YErrors = append(ci.YErrors, struct{ Low, High float64 }{
				g.MeanTestAccuracy - g.CI95Low, g.CI95High - g.MeanTestAccuracy})
			extend(g.CI95Low)
			extend(g.CI95High)
		}
		for j, a := range g.TestAccuracies {
			off := 0.0
			if g.Runs > 1 {
				off = 0.3 * (float64(j)/float64(g.Runs-1) - 0.5)
			}
			runs = append(runs, plotter.XY{X: x + off, Y: a})
			extend(a)
		}
		if !math.IsNaN(g.Reported) {
			reported = append(reported, plotter.XY{X: x, Y: g.Reported})
			extend(g.Reported)
		}
	}
	width := min(vg.Length(float64(3.6*vg.Inch)/float64(len(gs))*0.6), 0.6*vg.Inch)
	bars, err := plotter.NewBarChart(means, width)
	if err != nil {
		return nil, nil, err
	}
	bars.Color = color.RGBA{0xa6, 0xc8, 0xe6, 0xff}
	bars.LineStyle.Color = color.RGBA{0x00, 0x72, 0xB2, 0xff}
	p.Add(bars)
	items := []legendItem{{"mean over seeds", []plot.Thumbnailer{bars}}}
	if len(ci.XYs) > 0 {
		eb, err := plotter.NewYErrorBars(ci)
		if err != nil {
			return nil, nil, err
		}
		eb.LineStyle.Width, eb.CapWidth = vg.Points(1.5), vg.Points(10)
		p.Add(eb)
		items = append(items, legendItem{"95 % CI (Wilson)", []plot.Thumbnailer{lineThumb(eb.LineStyle)}})
	}
	sc, err := plotter.NewScatter(runs)
	if err != nil {
		return nil, nil, err
	}
	sc.Shape, sc.Radius, sc.Color = draw.CircleGlyph{}, vg.Points(2.5), color.Gray{Y: 0x30}
	p.Add(sc)
	items = append(items, legendItem{"single runs", []plot.Thumbnailer{sc}})
	if len(reported) > 0 {
		rp, err := plotter.NewScatter(reported)
		if err != nil {
			return nil, nil, err
		}
		rp.Shape, rp.Radius, rp.Color = draw.CrossGlyph{}, vg.Points(5), palette[1]
		p.Add(rp)
		items = append(items, legendItem{"study (one run)", []plot.Thumbnailer{rp}})
	}
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = math.Pi / 7
	p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
	span := math.Max(hi-lo, 0.002)
	p.Y.Min, p.Y.Max = lo-0.12*span, hi+0.12*span
	return p, items, nil
}

// lineThumb is a legend thumbnail of a plain line.
type lineThumb draw.LineStyle

func (l lineThumb) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(draw.LineStyle(l), c.Min.X, y, c.Max.X, y)
}

// ---- weights ----

const weightsCaption = "Distribution of |w| over the hidden kernels' weights at the end of training, pooled over each method's seeds: " +
	"the share of weights in each decade 10^k ≤ |w| < 10^(k+1), on a log scale (the first bin also holds smaller weights and zeros, " +
	"the last larger ones; empty bins are left out)."

func hasWeights(gs []*group) bool {
	for _, g := range gs {
		if _, shares := weightShares(g); len(shares) > 0 {
			return true
		}
	}
	return false
}

// weightShares pools a method's weight histograms: for each decade exponent
// k, the share of all its weights in the bin that starts at 10^k.
func weightShares(g *group) (exps []int, shares []float64) {
	counts := map[int]int{}
	total := 0
	lo, hi := math.MaxInt, math.MinInt
	for _, r := range g.runs {
		for i, c := range r.Weights.Hist {
			k := r.Weights.HistMin + i
			counts[k] += c
			total += c
			lo, hi = min(lo, k), max(hi, k)
		}
	}
	if total == 0 {
		return nil, nil
	}
	for k := lo; k <= hi; k++ {
		exps = append(exps, k)
		shares = append(shares, float64(counts[k])/float64(total))
	}
	return exps, shares
}

// fmtDecade labels 10^k: "0.001" … "1000" plainly, "1e-8" beyond.
func fmtDecade(k int) string {
	if k >= -3 && k <= 3 {
		return strconv.FormatFloat(math.Pow10(k), 'f', -1, 64)
	}
	return fmt.Sprintf("1e%d", k)
}

// decadeTicks marks the decades of a log axis, labelled, with unlabelled
// minor ticks between them.
func decadeTicks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	for k := int(math.Floor(math.Log10(min))); k <= int(math.Ceil(math.Log10(max))); k++ {
		ts = append(ts, plot.Tick{Value: math.Pow10(k), Label: fmtDecade(k)})
		for m := 2; m < 10; m++ {
			ts = append(ts, plot.Tick{Value: float64(m) * math.Pow10(k)})
		}
	}
	return ts
}

// weightsPlot shows, per method, the share of hidden-kernel weights in each
// decade of |w| on a log scale, where L1's pile of near-zero weights stands
// out.
func weightsPlot(gs []*group) (*plot.Plot, []legendItem, error) {
	p := newPlot("Hidden-kernel weights by magnitude\n(share of weights per decade of |w|, log scale)",
		"|w| (decade bins: 10^k ≤ |w| < 10^(k+1))", "share of weights")
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.TickerFunc(decadeTicks)
	smallest, kmin, kmax := 1.0, math.MaxInt, math.MinInt
	var items []legendItem
	for i, g := range gs {
		exps, shares := weightShares(g)
		if len(exps) == 0 {
			continue
		}
		col, dashes, glyph := seriesStyle(i)
		var thumbs []plot.Thumbnailer
		for _, seg := range nonZeroRuns(exps, shares) {
			line, sc, err := plotter.NewLinePoints(seg)
			if err != nil {
				return nil, nil, err
			}
			line.Color, line.Width, line.Dashes = col, vg.Points(1.5), dashes
			sc.Color, sc.Shape, sc.Radius = col, glyph, vg.Points(3)
			p.Add(line, sc)
			thumbs = []plot.Thumbnailer{line, sc}
			for _, xy := range seg {
				smallest = math.Min(smallest, xy.Y)
			}
		}
		kmin, kmax = min(kmin, exps[0]), max(kmax, exps[len(exps)-1])
		items = append(items, legendItem{fmt.Sprintf("%s (%s)", shorten(g.Method, legendName), seedsText(g.Runs)), thumbs})
	}
	if len(items) == 0 {
		return nil, nil, errNoData
	}
	var xt []plot.Tick
	for k := kmin; k <= kmax; k++ {
		xt = append(xt, plot.Tick{Value: float64(k), Label: fmtDecade(k)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(xt)
	p.X.Min, p.X.Max = float64(kmin)-0.3, float64(kmax)+0.3
	p.Y.Min, p.Y.Max = math.Pow10(int(math.Floor(math.Log10(smallest)))), 1
	return p, items, nil
}

// nonZeroRuns splits a histogram into runs of consecutive non-empty bins,
// the pieces a log-scale line can show.
func nonZeroRuns(exps []int, shares []float64) []plotter.XYs {
	var segs []plotter.XYs
	var cur plotter.XYs
	for i, s := range shares {
		if s > 0 {
			cur = append(cur, plotter.XY{X: float64(exps[i]), Y: s})
			continue
		}
		if len(cur) > 0 {
			segs = append(segs, cur)
		}
		cur = nil
	}
	if len(cur) > 0 {
		segs = append(segs, cur)
	}
	return segs
}
