package anya_test

import (
	"bytes"
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// readmeQuickStart returns the README's quick start: the first ```go block that mentions
// anya.New.
func readmeQuickStart(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(raw), -1) {
		if strings.Contains(m[1], "anya.New") {
			return m[1]
		}
	}
	t.Fatal("README.md has no ```go block that mentions anya.New")
	return ""
}

// funcBody returns the source of the body of function name in src, between its braces.
func funcBody(t *testing.T, filename, src, name string) string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filename, src, parser.ParseComments)
	if err != nil {
		t.Fatalf("%s: %v", filename, err)
	}
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == name && fn.Recv == nil {
			return src[fset.Position(fn.Body.Lbrace).Offset+1 : fset.Position(fn.Body.Rbrace).Offset]
		}
	}
	t.Fatalf("%s has no func %s", filename, name)
	return ""
}

// The README's quick start and the package's Example are one program: main's body is
// Example's, but for the Example's checked output.
func TestReadmeQuickStartIsTheExample(t *testing.T) {
	prog := readmeQuickStart(t)
	if !strings.HasPrefix(prog, "package main\n") {
		t.Fatalf("the quick start is not a complete program:\n%s", prog)
	}
	main := funcBody(t, "README.md", prog, "main")
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	example := funcBody(t, "example_test.go", string(src), "Example")
	i := strings.Index(example, "\t// Output:")
	if i < 0 {
		t.Fatal("Example has no checked output")
	}
	if want := example[:i]; main != want {
		t.Fatalf("the README's main and Example differ.\nREADME main:\n%s\nExample:\n%s", main, want)
	}
}

// The quick start, copied verbatim into a new module outside the repository (its go.mod
// replacing the SDK's module with this checkout, with the checkout's go.sum: no network), runs
// on embedded defaults, prints a sent payment and the typed reason of an unverified one, and
// exits 0. With ANYA_ONNXRUNTIME_LIB naming a library that does not exist, it fails naming
// the path.
func TestReadmeQuickStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	repo, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go \S+$`).FindString(string(gomod))
	dir := t.TempDir()
	mod := "module example.com/quickstart\n\n" + goLine + "\n\nrequire github.com/anya-org/anya-go v0.0.0-00010101000000-000000000000\n\n" +
		"replace github.com/anya-org/anya-go => " + repo + "\n"
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"go.mod": []byte(mod), "go.sum": sum, "main.go": []byte(readmeQuickStart(t))} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run := func(env ...string) (string, string, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, goBin, "run", ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
		cmd.Env = append(cmd.Env, env...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	out, errOut, err := run()
	if err != nil {
		t.Fatalf("go run the quick start: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	if want := "order-42 sent\nrefund-7 unverified no_link\n"; out != want {
		t.Fatalf("the quick start printed:\n%s\nwant:\n%s\nstderr:\n%s", out, want, errOut)
	}

	missing := filepath.Join(t.TempDir(), "no-such-libonnxruntime.so.1")
	out, errOut, err = run("ANYA_ONNXRUNTIME_LIB=" + missing)
	if os.Getenv("CGO_ENABLED") == "0" {
		t.Skip("built without cgo: no library can load, and the pure-Go evaluator is the documented fallback")
	}
	if err == nil || !strings.Contains(errOut, missing) {
		t.Fatalf("with ANYA_ONNXRUNTIME_LIB=%s: %v, want an error naming it\nstdout:\n%s\nstderr:\n%s", missing, err, out, errOut)
	}
}
