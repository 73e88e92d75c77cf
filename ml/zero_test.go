package ml_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/mltest"
)

func wantNotConstructed(t *testing.T, err error, constructor string) {
	t.Helper()
	var nc *ml.NotConstructedError
	if !errors.As(err, &nc) || nc.Constructor != constructor || !errors.Is(err, ml.ErrNotConstructed) ||
		!strings.Contains(err.Error(), "ml."+constructor) {
		t.Fatalf("err = %v, want a NotConstructedError naming %s", err, constructor)
	}
}

// The zero value of every exported type answers every exported method without panicking.
func TestZeroValues(t *testing.T) {
	ctx := context.Background()
	tm := mltest.Linear([]float32{1}, 0)

	t.Run("Engine", func(t *testing.T) {
		var e ml.Engine
		if e.Backend() != "" || e.Model() != nil || e.Stats() != (ml.Stats{}) || e.BackendReason().String() != "no backend" {
			t.Fatal("zero engine reports something")
		}
		_, err := e.Score(ctx, ml.Vector{})
		wantNotConstructed(t, err, "NewEngine")
		_, err = e.ScoreBatch(ctx, []ml.Vector{{}})
		wantNotConstructed(t, err, "NewEngine")
		wantNotConstructed(t, e.Activate(ctx, tm.Model), "NewEngine")
		wantNotConstructed(t, e.Rollback(ctx), "NewEngine")
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Registry", func(t *testing.T) {
		var r ml.Registry
		_, err := r.Names()
		wantNotConstructed(t, err, "OpenRegistry")
		_, err = r.Versions("fraud")
		wantNotConstructed(t, err, "OpenRegistry")
		_, err = r.Manifest("fraud", "")
		wantNotConstructed(t, err, "OpenRegistry")
		_, err = r.Load(ctx, "fraud", "")
		wantNotConstructed(t, err, "OpenRegistry")
		_, err = r.Register(ctx, tm.Model.Bytes(), tm.Model.Manifest())
		wantNotConstructed(t, err, "OpenRegistry")
	})
	t.Run("Model", func(t *testing.T) {
		var m ml.Model
		man := m.Manifest()
		if m.Name() != "" || m.Version() != "" || m.ID() != "@" || m.Width() != 0 || m.Bytes() != nil || m.Graph() != nil ||
			m.Schema().Len() != 0 || man.ID() != "@" {
			t.Fatal("zero model has content")
		}
		_, err := m.Program()
		wantNotConstructed(t, err, "NewModel")
		if _, err := ml.NewEngine(&m); !errors.Is(err, ml.ErrInvalidOption) {
			t.Fatalf("an engine on the zero model: %v", err)
		}
		if _, err := ml.NewGoBackend().NewSession(&m); err == nil {
			t.Fatal("a session of the zero model")
		}
	})
	t.Run("GoBackend", func(t *testing.T) {
		var b ml.GoBackend // usable as NewGoBackend returns it
		s, err := b.NewSession(tm.Model)
		if err != nil || b.Name() != "go" {
			t.Fatal(err)
		}
		scores := []float32{0}
		if err := s.Run([]float32{0}, 1, scores); err != nil || scores[0] != 0.5 {
			t.Fatal(scores, err)
		}
		if s.Close() != nil || b.Close() != nil {
			t.Fatal("close")
		}
	})
	t.Run("ORTBackend", func(t *testing.T) {
		var b ml.ORTBackend
		if b.Name() != "ort" || b.Library() != "" || b.Version() != "" || b.LibrarySource() != 0 {
			t.Fatal("zero ORT backend reports a library")
		}
		if _, err := b.NewSession(tm.Model); err == nil {
			t.Fatal("a session on the zero ORT backend")
		} else if !errors.Is(err, ml.ErrNotConstructed) && !errors.Is(err, ml.ErrNoCgo) {
			t.Fatal(err)
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("values and errors", func(t *testing.T) {
		var s ml.Schema
		if s.Check() == nil || s.ID() != "@0" || s.Len() != 0 || s.Index("x") != -1 || len(s.Names()) != 0 {
			t.Fatal("zero schema")
		}
		if err := s.Validate(ml.Vector{}); err != nil {
			t.Fatalf("the empty vector of the zero schema: %v", err)
		}
		if _, err := s.Vector(nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Project(nil, nil, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Map(ml.Vector{}); err != nil {
			t.Fatal(err)
		}
		var r ml.Result
		var src ml.LibrarySource
		if r.ModelID() != "@" || src.String() != "" || src.Configured() {
			t.Fatal(r.ModelID(), src)
		}
		for _, err := range []error{&ml.OptionError{}, &ml.SchemaError{}, &ml.ShapeError{}, &ml.FeatureError{}, &ml.BatchError{},
			&ml.HashError{}, &ml.LibraryError{}, &ml.DeadlineError{}, &ml.NotConstructedError{}} {
			if err.Error() == "" {
				t.Fatalf("%T has no message", err)
			}
			_ = errors.Is(err, ml.ErrORTUnavailable)
			_ = errors.Unwrap(err)
		}
	})
}
