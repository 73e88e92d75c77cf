// Package apitest checks, from a package's own tests, the API conventions every web5 package
// follows: the zero value of each exported type with methods is usable or says which
// constructor to call, every option documents its default, and the package documentation
// states the conventions.
package apitest

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Conventions is the text every package's "# Conventions" section holds.
const Conventions = "Options: every constructor takes functional options of one shape, `func(*config)`; " +
	"options never fail on their own — the constructor validates the whole configuration once and " +
	"returns an *OptionError naming the option. Each option's documentation states its default. " +
	"Time comes from WithClock(func() time.Time) and logs go to WithLogger(*slog.Logger), silent by default."

// Zero is the zero value of one exported type and what its methods must do.
type Zero struct {
	// Value is a pointer to a zero value of the type: new(T).
	Value any
	// NotConstructed, when not nil, is the sentinel every error a method of the zero value
	// returns must match: the zero value is not usable and the error names its constructor.
	// When nil, the zero value is usable: its methods must not panic.
	NotConstructed error
	// Works names the methods that work on a zero value that is not usable otherwise (Close,
	// which has nothing to release): their errors are not checked.
	Works []string
	// Args holds the arguments of methods, by name, without a leading context.Context (which
	// is filled in). Methods not listed get zero values.
	Args map[string][]any
}

// Zeros calls every exported method of every zero value and fails the test when one panics,
// or when a method of a zero value that is not usable returns an error that does not match
// its NotConstructed sentinel (or no error at all, for a method that returns one). It also
// fails when dir declares an exported struct type with methods that zeros does not list.
func Zeros(t *testing.T, dir string, zeros ...Zero) {
	t.Helper()
	listed := map[string]bool{}
	for _, z := range zeros {
		rt := reflect.TypeOf(z.Value)
		if rt == nil || rt.Kind() != reflect.Pointer {
			t.Fatalf("apitest: Value %T is not a pointer to a zero value", z.Value)
		}
		listed[rt.Elem().Name()] = true
	}
	for _, name := range structsWithMethods(t, dir) {
		if !listed[name] {
			t.Errorf("apitest: exported type %s has methods but no zero-value case", name)
		}
	}
	for _, z := range zeros {
		v := reflect.ValueOf(z.Value)
		typ := v.Type()
		for i := range typ.NumMethod() {
			m := typ.Method(i)
			t.Run(typ.Elem().Name()+"."+m.Name, func(t *testing.T) {
				errs, panicked := call(t, v.Method(i), z.Args[m.Name])
				if panicked != nil {
					t.Fatalf("zero %s: %s panics: %v", typ.Elem().Name(), m.Name, panicked)
				}
				if z.NotConstructed == nil || slices.Contains(z.Works, m.Name) {
					return
				}
				for _, err := range errs {
					if !errors.Is(err, z.NotConstructed) {
						t.Errorf("zero %s: %s returned %v, want an error matching %v", typ.Elem().Name(), m.Name, err, z.NotConstructed)
					}
				}
			})
		}
	}
}

var (
	ctxType   = reflect.TypeFor[context.Context]()
	errorType = reflect.TypeFor[error]()
)

// call calls m with args (after a context.Context if its first parameter is one; zero
// values for the rest) and returns its error results and what it panicked with.
func call(t *testing.T, m reflect.Value, args []any) (errs []error, panicked any) {
	mt := m.Type()
	in := make([]reflect.Value, 0, mt.NumIn())
	for j := range mt.NumIn() {
		pt := mt.In(j)
		if mt.IsVariadic() && j == mt.NumIn()-1 {
			break
		}
		switch {
		case j == 0 && pt == ctxType:
			in = append(in, reflect.ValueOf(context.Background()))
		case len(args) > 0:
			a := args[0]
			args = args[1:]
			if a == nil {
				in = append(in, reflect.Zero(pt))
			} else {
				in = append(in, reflect.ValueOf(a))
			}
		default:
			in = append(in, reflect.Zero(pt))
		}
	}
	defer func() { panicked = recover() }()
	for j, out := range m.Call(in) {
		if mt.Out(j) == errorType {
			if out.IsNil() {
				errs = append(errs, fmt.Errorf("no error"))
				continue
			}
			errs = append(errs, out.Interface().(error))
		}
	}
	return errs, nil
}

// structsWithMethods returns the exported struct types declared in dir's non-test files
// that have methods.
func structsWithMethods(t *testing.T, dir string) []string {
	t.Helper()
	fset := token.NewFileSet()
	structs := map[string]bool{}
	methods := map[string]bool{}
	for _, f := range parse(t, fset, dir) {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				for _, s := range d.Specs {
					if ts, ok := s.(*ast.TypeSpec); ok && ts.Name.IsExported() {
						if _, ok := ts.Type.(*ast.StructType); ok {
							structs[ts.Name.Name] = true
						}
					}
				}
			case *ast.FuncDecl:
				if d.Recv != nil && d.Name.IsExported() {
					rt := d.Recv.List[0].Type
					if st, ok := rt.(*ast.StarExpr); ok {
						rt = st.X
					}
					if id, ok := rt.(*ast.Ident); ok {
						methods[id.Name] = true
					}
				}
			}
		}
	}
	var out []string
	for name := range structs {
		if methods[name] && !strings.HasSuffix(name, "Error") {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func parse(t *testing.T, fset *token.FileSet, dir string) []*ast.File {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

var sentenceEnd = regexp.MustCompile(`[.:;!?]\s+[A-Z]`)

// Docs fails the test when the package in dir has no "# Conventions" section holding
// Conventions in its doc.go, or when the documentation of an exported function returning
// one of the package's option types (an exported func type whose name ends in "Option", or
// one of extra) does not end with a sentence starting "Defaults to".
func Docs(t *testing.T, dir string, extra ...string) {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(dir, "doc.go"))
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for _, line := range strings.Split(string(doc), "\n") {
		if rest, ok := strings.CutPrefix(line, "//"); ok {
			text.WriteString(strings.TrimSpace(rest))
			text.WriteByte(' ')
		}
	}
	flat := strings.Join(strings.Fields(text.String()), " ")
	if !strings.Contains(flat, "# Conventions") {
		t.Error("doc.go has no # Conventions section")
	}
	if !strings.Contains(flat, Conventions) {
		t.Errorf("doc.go does not state the conventions:\n%s", Conventions)
	}

	fset := token.NewFileSet()
	files := parse(t, fset, dir)
	optionTypes := map[string]bool{}
	for _, e := range extra {
		optionTypes[e] = true
	}
	for _, f := range files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, s := range gd.Specs {
				if ts, ok := s.(*ast.TypeSpec); ok && ts.Name.IsExported() && strings.HasSuffix(ts.Name.Name, "Option") {
					if _, ok := ts.Type.(*ast.FuncType); ok {
						optionTypes[ts.Name.Name] = true
					}
				}
			}
		}
	}
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv != nil || !fd.Name.IsExported() || fd.Type.Results == nil || len(fd.Type.Results.List) != 1 {
				continue
			}
			id, ok := fd.Type.Results.List[0].Type.(*ast.Ident)
			if !ok || !optionTypes[id.Name] {
				continue
			}
			c := strings.Join(strings.Fields(fd.Doc.Text()), " ")
			i := strings.LastIndex(c, "Defaults to")
			if i < 0 || sentenceEnd.MatchString(c[i:]) {
				t.Errorf("%s: the documentation of option %s does not end with \"Defaults to …\": %q", fset.Position(fd.Pos()), fd.Name.Name, c)
			}
		}
	}
}
