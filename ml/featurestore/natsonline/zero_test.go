package natsonline_test

import (
	"context"
	"errors"
	"testing"

	"github.com/anya-org/anya-go/ml/featurestore"
	"github.com/anya-org/anya-go/ml/featurestore/natsonline"
)

// The methods of a zero Online return a *NotConstructedError naming New; nothing panics.
func TestZeroOnline(t *testing.T) {
	var o natsonline.Online
	ctx := context.Background()
	_, getErr := o.Get(ctx, "k")
	_, putErr := o.Put(ctx, "k", featurestore.Record{Entity: "e"})
	for what, err := range map[string]error{"Get": getErr, "Put": putErr} {
		var nc *natsonline.NotConstructedError
		if !errors.As(err, &nc) || !errors.Is(err, natsonline.ErrNotConstructed) || nc.Constructor != "New" {
			t.Errorf("%s: err = %v, want a *NotConstructedError naming New", what, err)
		}
	}
}
