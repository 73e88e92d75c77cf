package anya_test

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// The SDK's one option style holds in every package of the module: each exported type whose
// name ends in "Option" is a function over an unexported configuration, and every exported
// function returning one documents its default ("Defaults to ...", last sentence), as go doc
// shows it.
func TestEveryPackageFollowsTheOptionStyle(t *testing.T) {
	fset := token.NewFileSet()
	pkgs := 0
	options := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "bench" || name == "examples" || name == "node_modules") {
			return filepath.SkipDir
		}
		matches, err := filepath.Glob(filepath.Join(path, "*.go"))
		if err != nil {
			return err
		}
		var files []*ast.File
		for _, m := range matches {
			if strings.HasSuffix(m, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, m, nil, parser.ParseComments)
			if err != nil {
				return err
			}
			if f.Name.Name == "main" {
				return nil
			}
			files = append(files, f)
		}
		if len(files) == 0 {
			return nil
		}
		p, err := doc.NewFromFiles(fset, files, "github.com/anya-org/anya-go/"+filepath.ToSlash(path))
		if err != nil {
			return err
		}
		pkgs++
		for _, typ := range p.Types {
			if !strings.HasSuffix(typ.Name, "Option") || typ.Decl == nil {
				continue
			}
			spec := typ.Decl.Specs[0].(*ast.TypeSpec)
			if _, ok := spec.Type.(*ast.FuncType); !ok {
				t.Errorf("%s.%s is not a func type (the SDK's one option style is `type Option func(*config)`)", p.Name, typ.Name)
			}
			for _, f := range typ.Funcs {
				if !strings.HasPrefix(f.Name, "With") {
					continue
				}
				options++
				text := strings.Join(strings.Fields(f.Doc), " ")
				i := strings.LastIndex(text, "Defaults to ")
				if i < 0 || strings.Contains(text[i:], ". ") || !strings.HasSuffix(text, ".") {
					t.Errorf("%s/%s.%s: the documentation does not end with its default (\"Defaults to ...\")", path, p.Name, f.Name)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d packages, %d options", pkgs, options)
	if pkgs < 40 || options < 150 {
		t.Fatalf("walked %d packages and %d options: the walk missed the module", pkgs, options)
	}
}
