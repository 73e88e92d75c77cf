package ml

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Schema names and versions a feature vector: which value sits at which index, with the range
// each may take. Producers (the bitcoin and web5 packages, the SDK's dataset generator) emit
// plain []float32 in a schema's order; ml validates them against the schema before inference.
// A Schema is immutable once in use.
type Schema struct {
	Name     string    `json:"name"`
	Version  int       `json:"version"`
	Features []Feature `json:"features"`
}

// Feature is one named entry of a [Schema]. Values must be finite and in [Min, Max].
type Feature struct {
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	Min         float32 `json:"min"`
	Max         float32 `json:"max"`
	// Default is used by [Schema.Vector] for features the caller does not name.
	Default float32 `json:"default"`
}

// Vector is a feature vector tagged with the schema it follows.
type Vector struct {
	Schema  string    `json:"schema"`
	Version int       `json:"version"`
	Values  []float32 `json:"values"`
}

// ID returns "name@version", the schema's identity.
func (s *Schema) ID() string { return s.Name + "@" + strconv.Itoa(s.Version) }

// Len returns the number of features.
func (s *Schema) Len() int { return len(s.Features) }

// Index returns the position of the named feature, or -1.
func (s *Schema) Index(name string) int {
	for i, f := range s.Features {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// Names returns the feature names in order.
func (s *Schema) Names() []string {
	n := make([]string, len(s.Features))
	for i, f := range s.Features {
		n[i] = f.Name
	}
	return n
}

// Check reports whether the schema definition itself is usable: a name, a positive version, at
// least one feature, unique non-empty names, finite bounds with Min <= Default <= Max.
func (s *Schema) Check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidSchema, s.ID(), fmt.Sprintf(format, args...))
	}
	if s.Name == "" || strings.ContainsAny(s.Name, "@/ ") {
		return bad("name %q must be non-empty without '@', '/' or spaces", s.Name)
	}
	if s.Version < 1 {
		return bad("version %d must be >= 1", s.Version)
	}
	if len(s.Features) == 0 {
		return bad("no features")
	}
	seen := make(map[string]bool, len(s.Features))
	for i, f := range s.Features {
		if f.Name == "" || seen[f.Name] {
			return bad("feature %d name %q is empty or repeated", i, f.Name)
		}
		seen[f.Name] = true
		if !finite(f.Min) || !finite(f.Max) || !finite(f.Default) || f.Min > f.Max || f.Default < f.Min || f.Default > f.Max {
			return bad("feature %q bounds min=%v default=%v max=%v", f.Name, f.Min, f.Default, f.Max)
		}
	}
	return nil
}

func finite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

// Validate checks a vector's schema, length and values: every value finite and within its
// feature's range. It returns [*SchemaError], [*ShapeError] or [*FeatureError].
func (s *Schema) Validate(v Vector) error {
	if v.Schema != s.Name || v.Version != s.Version {
		return &SchemaError{Want: s.ID(), Got: v.Schema + "@" + strconv.Itoa(v.Version)}
	}
	return s.validateValues(v.Values)
}

func (s *Schema) validateValues(values []float32) error {
	if len(values) != len(s.Features) {
		return &ShapeError{Schema: s.ID(), Want: len(s.Features), Got: len(values)}
	}
	for i, x := range values {
		f := &s.Features[i]
		// One comparison pair catches NaN too (every comparison with NaN is false).
		if x >= f.Min && x <= f.Max {
			continue
		}
		fe := &FeatureError{Schema: s.ID(), Index: i, Feature: f.Name, Value: x, Min: f.Min, Max: f.Max, Err: ErrOutOfRange}
		if !finite(x) {
			fe.Err = ErrNotFinite
		}
		return fe
	}
	return nil
}

// Vector builds a vector of this schema from named values; features not named take their
// Default. Unknown names return an error wrapping [ErrUnknownFeature]; values are validated.
func (s *Schema) Vector(named map[string]float32) (Vector, error) {
	v := Vector{Schema: s.Name, Version: s.Version, Values: make([]float32, len(s.Features))}
	for i, f := range s.Features {
		v.Values[i] = f.Default
	}
	for name, x := range named {
		i := s.Index(name)
		if i < 0 {
			return Vector{}, fmt.Errorf("%w: %q is not in schema %s", ErrUnknownFeature, name, s.ID())
		}
		v.Values[i] = x
	}
	if err := s.validateValues(v.Values); err != nil {
		return Vector{}, err
	}
	return v, nil
}

// Project builds a vector of this schema from another producer's named vector (names[i] names
// values[i]), such as the bitcoin package's transaction features: features of this schema take
// the value of the same name, names this schema does not have are ignored, and features the
// producer does not have take overrides[name] when given, else their Default. The result is
// validated.
func (s *Schema) Project(names []string, values []float32, overrides map[string]float32) (Vector, error) {
	if len(names) != len(values) {
		return Vector{}, &ShapeError{Schema: s.ID(), Want: len(names), Got: len(values)}
	}
	v := Vector{Schema: s.Name, Version: s.Version, Values: make([]float32, len(s.Features))}
	for i, f := range s.Features {
		v.Values[i] = f.Default
	}
	for i, n := range names {
		if k := s.Index(n); k >= 0 {
			v.Values[k] = values[i]
		}
	}
	for n, x := range overrides {
		k := s.Index(n)
		if k < 0 {
			return Vector{}, fmt.Errorf("%w: %q is not in schema %s", ErrUnknownFeature, n, s.ID())
		}
		v.Values[k] = x
	}
	if err := s.validateValues(v.Values); err != nil {
		return Vector{}, err
	}
	return v, nil
}

// Map returns the vector's values by feature name. The vector must follow this schema.
func (s *Schema) Map(v Vector) (map[string]float32, error) {
	if err := s.Validate(v); err != nil {
		return nil, err
	}
	m := make(map[string]float32, len(v.Values))
	for i, f := range s.Features {
		m[f.Name] = v.Values[i]
	}
	return m, nil
}
