package resilience

import (
	"context"
	"errors"
)

type fallbackConfig struct {
	common
	when func(error) bool
}

// FallbackIf falls back only on the errors pred accepts. It configures a [Fallback]. Defaults
// to every error but the caller's context ending.
func FallbackIf(pred func(error) bool) Option {
	return func(c *config) {
		if c.accepts(KindFallback, "FallbackIf", nil) {
			c.fallback.when = pred
		}
	}
}

// Fallback replaces a failed call's outcome with another: a fixed value, or the outcome of a
// function that sees the failure. It has the call's result type R; for [Do], R is struct{}.
// Create it with [NewFallback] or [FallbackValue]; the zero value returns a
// [*NotConstructedError] instead of calling anything.
type Fallback[R any] struct {
	fn  func(context.Context, error) (R, error)
	cfg fallbackConfig
	em  emitter
}

// NewFallback returns a fallback that replaces a failure err with fn(ctx, err).
func NewFallback[R any](fn func(ctx context.Context, err error) (R, error), opts ...Option) (*Fallback[R], error) {
	cfg, err := applyOptions(KindFallback, opts)
	if err != nil {
		return nil, err
	}
	c := cfg.fallback
	c.common = cfg.common
	if fn == nil {
		return nil, &OptionError{Policy: KindFallback, Option: "fn", Value: nil, Reason: "must not be nil"}
	}
	return &Fallback[R]{fn: fn, cfg: c, em: c.emitter(KindFallback)}, nil
}

// FallbackValue returns a fallback that replaces a failure with v and no error.
func FallbackValue[R any](v R, opts ...Option) (*Fallback[R], error) {
	return NewFallback(func(context.Context, error) (R, error) { return v, nil }, opts...)
}

func runFallback[R any](ctx context.Context, f *Fallback[R], ps []Policy, fn func(context.Context) (R, error)) (R, error) {
	if f.fn == nil {
		var zero R
		return zero, &NotConstructedError{Type: "Fallback", Constructor: "NewFallback"}
	}
	res, err := run(ctx, ps, fn)
	if err == nil || ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return res, err
	}
	if f.cfg.when != nil && !f.cfg.when(err) {
		return res, err
	}
	f.em.emitCtx(ctx, Event{Kind: EventFallback, Err: err})
	return f.fn(ctx, err)
}
