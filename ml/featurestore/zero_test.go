package featurestore_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/featurestore"
	"github.com/anya-org/anya-go/ml/featurestore/featurestoretest"
)

// The zero MemoryCache is an empty cache that passes the Cache conformance suite, directly and
// as an Online tier.
func TestZeroMemoryCacheConformance(t *testing.T) {
	featurestoretest.RunCache(t, func(t *testing.T) featurestore.Cache { return new(featurestore.MemoryCache) })
	featurestoretest.RunOnline(t, func(t *testing.T) featurestore.Online { return featurestore.CacheOnline(new(featurestore.MemoryCache)) })
	featurestoretest.RunOnline(t, func(t *testing.T) featurestore.Online { return featurestore.CacheOnline(nil) })
}

// Every method of a zero Store returns a *NotConstructedError naming Open, and Close returns
// nil: nothing panics.
func TestZeroStore(t *testing.T) {
	ctx := context.Background()
	{
		var s featurestore.Store
		nc := func(what string, err error) {
			t.Helper()
			var e *featurestore.NotConstructedError
			if !errors.As(err, &e) || !errors.Is(err, featurestore.ErrNotConstructed) || e.Constructor != "Open" {
				t.Errorf("%s: err = %v, want a *NotConstructedError naming Open", what, err)
			}
		}
		v := ml.Vector{Schema: "s", Version: 1, Values: []float32{1}}
		_, err := s.Put(ctx, "e", v)
		nc("Put", err)
		_, err = s.PutAt(ctx, "e", v, time.Unix(1, 0))
		nc("PutAt", err)
		_, err = s.Get(ctx, "e", "s", 1)
		nc("Get", err)
		_, err = s.AsOf(ctx, "e", "s", 1, time.Unix(1, 0))
		nc("AsOf", err)
		_, _, _, err = s.TrainingSet(ctx, "s", 1, []featurestore.Event{{Entity: "e"}})
		nc("TrainingSet", err)
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

// Open validates its options once: an invalid one is an *OptionError naming it, and nothing is
// opened.
func TestOpenRejectsBadOptions(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		option string
		o      featurestore.Option
	}{
		{"WithClock", featurestore.WithClock(nil)},
		{"WithLogger", featurestore.WithLogger(nil)},
		{"WithCache", featurestore.WithCache(nil)},
		{"WithOnline", featurestore.WithOnline(nil)},
		{"WithSchemas", featurestore.WithSchemas(ml.Schema{Name: "risk", Version: 1} /* no features */)},
	} {
		var oe *featurestore.OptionError
		s, err := featurestore.Open(ctx, ":memory:", featurestore.WithLogger(slog.Default()), c.o)
		if !errors.As(err, &oe) || !errors.Is(err, featurestore.ErrInvalidOption) || s != nil || oe.Option != c.option || !strings.Contains(err.Error(), c.option) {
			t.Errorf("%s: Open = %v, %v, want an *OptionError naming it", c.option, s, err)
		}
	}
	// Nil options are skipped; the last online tier given wins.
	s, err := featurestore.Open(ctx, ":memory:", nil, featurestore.WithOnline(nil), featurestore.WithCache(featurestore.NewMemoryCache(2)))
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
}
