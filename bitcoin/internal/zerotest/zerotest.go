package zerotest

import (
	"context"
	"reflect"
)

// T is the part of testing.TB that Call reports panics to.
type T interface {
	Helper()
	Errorf(format string, args ...any)
}

// Result is what one method returned.
type Result struct {
	Method string
	Values []any // the method's results, then what an iterator it returned yielded first
}

// Err returns the last error among the values, nil if none.
func (r Result) Err() error {
	var err error
	for _, v := range r.Values {
		if e, ok := v.(error); ok && e != nil {
			err = e
		}
	}
	return err
}

// Skip names methods Call must not call, for the few that cannot be called with made-up
// arguments (a method taking a *testing.T, which it would fail).
type Skip []string

// Call calls every exported method of v — a pointer to a zero value, or a zero value of a
// type with value receivers — with zero arguments: context.Background() for a
// context.Context, the first of args assignable to a parameter's type (a stand-in
// testing.TB, say), the zero value of every other parameter type (nil for pointers, slices,
// funcs, maps and interfaces), and no variadic arguments. A returned func() (an
// unsubscribe) is called too, and a returned iterator is started and stopped after its
// first value. A method that panics fails the test. A [Skip] among args names methods not to
// call. It returns the results in method order.
func Call(t T, v any, args ...any) []Result {
	t.Helper()
	rv := reflect.ValueOf(v)
	typ := rv.Type()
	ctxType := reflect.TypeFor[context.Context]()
	skip := map[string]bool{}
	var given []reflect.Value
	for _, a := range args {
		if names, ok := a.(Skip); ok {
			for _, n := range names {
				skip[n] = true
			}
			continue
		}
		given = append(given, reflect.ValueOf(a))
	}
	var out []Result
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		if skip[m.Name] {
			continue
		}
		ft := m.Func.Type() // the receiver is parameter 0
		n := ft.NumIn() - 1
		if ft.IsVariadic() {
			n--
		}
		in := make([]reflect.Value, n)
	params:
		for j := range n {
			pt := ft.In(j + 1)
			if pt == ctxType {
				in[j] = reflect.ValueOf(context.Background())
				continue
			}
			for _, g := range given {
				if g.Type().AssignableTo(pt) {
					in[j] = g
					continue params
				}
			}
			in[j] = reflect.Zero(pt)
		}
		out = append(out, Result{Method: m.Name, Values: call(t, typ.String()+"."+m.Name, rv.Method(i), in)})
	}
	return out
}

func call(t T, name string, fn reflect.Value, args []reflect.Value) (values []any) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("%s panicked: %v", name, p)
		}
	}()
	for _, r := range fn.Call(args) {
		values = append(values, value(r))
		if r.Kind() != reflect.Func || r.IsNil() {
			continue
		}
		rt := r.Type()
		switch {
		case rt.NumIn() == 0 && rt.NumOut() == 0: // func(): an unsubscribe or a cancel
			r.Call(nil)
		case rt.NumIn() == 1 && rt.In(0).Kind() == reflect.Func && rt.In(0).NumOut() == 1 && rt.In(0).Out(0).Kind() == reflect.Bool:
			// An iterator: take its first value and stop.
			yield := reflect.MakeFunc(rt.In(0), func(in []reflect.Value) []reflect.Value {
				for _, v := range in {
					values = append(values, value(v))
				}
				return []reflect.Value{reflect.ValueOf(false)}
			})
			r.Call([]reflect.Value{yield})
		}
	}
	return values
}

func value(r reflect.Value) any {
	if !r.IsValid() || !r.CanInterface() {
		return nil
	}
	return r.Interface()
}
