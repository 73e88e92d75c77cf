package resilience

import (
	"context"
	"errors"
)

type fallbackConfig struct {
	common
	when func(error) bool
}

// FallbackOption configures a [Fallback]. Every [Option] is a FallbackOption.
type FallbackOption interface {
	applyFallback(*fallbackConfig)
}

type fallbackOption func(*fallbackConfig)

func (o fallbackOption) applyFallback(c *fallbackConfig) { o(c) }

// FallbackIf falls back only on the errors pred accepts. Defaults to every error but the
// caller's context ending.
func FallbackIf(pred func(error) bool) FallbackOption {
	return fallbackOption(func(c *fallbackConfig) { c.when = pred })
}

// Fallback replaces a failed call's outcome with another: a fixed value, or the outcome of a
// function that sees the failure. It has the call's result type R; for [Do], R is struct{}.
// Create it with [NewFallback] or [FallbackValue].
type Fallback[R any] struct {
	fn  func(context.Context, error) (R, error)
	cfg fallbackConfig
	em  emitter
}

// NewFallback returns a fallback that replaces a failure err with fn(ctx, err).
func NewFallback[R any](fn func(ctx context.Context, err error) (R, error), opts ...FallbackOption) (*Fallback[R], error) {
	c := fallbackConfig{common: defaultCommon()}
	for _, o := range opts {
		if o != nil {
			o.applyFallback(&c)
		}
	}
	if fn == nil {
		return nil, &ConfigError{Policy: KindFallback, Field: "Func", Value: nil, Reason: "must not be nil"}
	}
	if err := c.common.validate(KindFallback); err != nil {
		return nil, err
	}
	return &Fallback[R]{fn: fn, cfg: c, em: c.emitter(KindFallback)}, nil
}

// FallbackValue returns a fallback that replaces a failure with v and no error.
func FallbackValue[R any](v R, opts ...FallbackOption) (*Fallback[R], error) {
	return NewFallback(func(context.Context, error) (R, error) { return v, nil }, opts...)
}

func runFallback[R any](ctx context.Context, f *Fallback[R], ps []Policy, fn func(context.Context) (R, error)) (R, error) {
	res, err := run(ctx, ps, fn)
	if err == nil || ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return res, err
	}
	if f.cfg.when != nil && !f.cfg.when(err) {
		return res, err
	}
	f.em.emit(Event{Kind: EventFallback, Err: err})
	return f.fn(ctx, err)
}
