package modelcard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// File names of a card beside its model.
const (
	// CardFile is the JSON card.
	CardFile = "card.json"
	// PlotFile is the PNG with the ROC and precision-recall curves.
	PlotFile = "card.png"
)

// Card documents a trained model: what it is for, the data it learned from, how it was chosen,
// and how well it does on held-out data.
type Card struct {
	Model       string `json:"model"` // name@version
	Description string `json:"description"`
	IntendedUse string `json:"intended_use"`
	Limitations string `json:"limitations"`
	// Schema is the input feature schema id (name@version); Features its feature names.
	Schema   string   `json:"schema"`
	Features []string `json:"features"`
	Data     Data     `json:"data"`
	// Algorithm and Params describe the shipped model; Selection explains why it was chosen
	// over the Candidates (with their validation metrics).
	Algorithm  string            `json:"algorithm"`
	Params     map[string]string `json:"params"`
	Selection  string            `json:"selection"`
	Candidates []Candidate       `json:"candidates"`
	// Test holds the shipped model's metrics on the held-out test split, computed by running
	// the exported ONNX file.
	Test Metrics `json:"test"`
	// ROC and PR are the test curves, thinned (false-positive rate → true-positive rate; recall →
	// precision).
	ROC  []Point `json:"roc"`
	PR   []Point `json:"pr"`
	Plot string  `json:"plot"`
}

// Data describes the training data.
type Data struct {
	Generator    string         `json:"generator"`
	Seed         uint64         `json:"seed"`
	Train        int            `json:"train_rows"`
	Validation   int            `json:"validation_rows"`
	Test         int            `json:"test_rows"`
	PositiveRate float64        `json:"positive_rate"`
	Patterns     map[string]int `json:"patterns"`
}

// Candidate is one model family tried, with its validation and test metrics.
type Candidate struct {
	Algorithm  string  `json:"algorithm"`
	Validation Metrics `json:"validation"`
	Test       Metrics `json:"test"`
	Chosen     bool    `json:"chosen"`
}

// JSON returns the card as indented JSON with a trailing newline. Maps are written with sorted
// keys, so the output is deterministic.
func (c *Card) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("modelcard: %w", err)
	}
	return append(b, '\n'), nil
}

// PlotPNG renders the card's ROC and precision-recall curves side by side (1200×540 px). The
// rendering is deterministic: the same card gives the same bytes.
func (c *Card) PlotPNG() ([]byte, error) {
	curve := func(title, x, y string, pts []Point, diagonal bool, note string) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text, p.Y.Label.Text = x, y
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1.02
		p.Add(plotter.NewGrid())
		if diagonal {
			d, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
			if err != nil {
				return nil, err
			}
			d.Color = color.Gray{Y: 160}
			d.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
			p.Add(d)
		}
		xys := make(plotter.XYs, len(pts))
		for i, pt := range pts {
			xys[i].X, xys[i].Y = pt.X, pt.Y
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		l.Color = color.RGBA{R: 31, G: 119, B: 180, A: 255}
		l.Width = vg.Points(2)
		p.Add(l)
		p.Legend.Add(note, l)
		p.Legend.Left = !diagonal // ROC: bottom right; precision-recall: bottom left
		return p, nil
	}
	roc, err := curve(c.Model+" ROC (test)", "false positive rate", "true positive rate", c.ROC, true, fmt.Sprintf("AUC %.4f", c.Test.AUC))
	if err != nil {
		return nil, fmt.Errorf("modelcard: %w", err)
	}
	pr, err := curve(c.Model+" precision-recall (test)", "recall", "precision", c.PR, false, fmt.Sprintf("AP %.4f", c.Test.PRAUC))
	if err != nil {
		return nil, fmt.Errorf("modelcard: %w", err)
	}
	img := vgimg.NewWith(vgimg.UseWH(12*vg.Inch, 5.4*vg.Inch), vgimg.UseDPI(100))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 6, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	cv := plot.Align([][]*plot.Plot{{roc, pr}}, tiles, dc)
	roc.Draw(cv[0][0])
	pr.Draw(cv[0][1])
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("modelcard: %w", err)
	}
	return buf.Bytes(), nil
}
