package modelcard_test

import (
	"testing"

	"github.com/anya-org/anya-go/ml/modelcard"
)

// The zero Card encodes, and plots empty curves, without panicking.
func TestZeroValue(t *testing.T) {
	var c modelcard.Card
	if b, err := c.JSON(); err != nil || len(b) == 0 {
		t.Fatal(string(b), err)
	}
	if png, err := c.PlotPNG(); err != nil || len(png) == 0 {
		t.Fatalf("PlotPNG of a card without curves: %d bytes, %v", len(png), err)
	}
}
