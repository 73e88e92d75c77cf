package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/schollz/progressbar/v3"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/modelcard"
	"github.com/anya-org/anya-go/models"
	"github.com/anya-org/anya-go/models/recipe"
)

// progress turns recipe progress into one progress bar per stage on w; with a nil w it shows
// nothing.
type progress struct {
	w   io.Writer
	key string
	bar *progressbar.ProgressBar
}

func (p *progress) update(model, stage string, done, total int) {
	if p.w == nil {
		return
	}
	key := model + ": " + stage
	if p.bar == nil || key != p.key {
		p.finish()
		p.key = key
		p.bar = newBar(p.w, total, key)
	}
	_ = p.bar.Set(done)
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
		p.bar = nil
	}
}

type trained struct {
	Model     string             `json:"model"`
	Algorithm string             `json:"algorithm"`
	SHA256    string             `json:"sha256"`
	Dir       string             `json:"dir"`
	Metrics   map[string]float64 `json:"metrics"`
	Card      string             `json:"card"`
	Plot      string             `json:"plot"`
}

// runModelTrain retrains the SDK's models (all, or --model NAME) into --out, with progress bars
// on stderr when it is a terminal.
func runModelTrain(ctx context.Context, e *env, args []string) error {
	return modelTrain(ctx, args, e.stdout, terminal(e.stderr))
}

// modelTrain trains, showing progress on progressTo unless it is nil.
func modelTrain(ctx context.Context, args []string, stdout, progressTo io.Writer) error {
	flags := newFlags("model train")
	out := flags.String("out", "models", "the directory (`DIR`) to write the models into (a registry tree)")
	only := flags.String("model", "", "train only the model `NAME` (default: all)")
	pos, err := parse(flags, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("model train: unexpected argument %q", pos[0])
	}
	var specs []recipe.Spec
	for _, s := range recipe.Specs() {
		if *only == "" || s.Name == *only {
			specs = append(specs, s)
		}
	}
	if len(specs) == 0 {
		return &cliError{Code: "not_found", Err: fmt.Errorf("model train: no model called %q", *only)}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return &cliError{Code: "io", Err: err}
	}
	p := &progress{w: progressTo}
	var res []trained
	for _, s := range specs {
		m, err := recipe.BuildOne(ctx, *out, s, p.update)
		if err != nil {
			p.finish()
			return &cliError{Code: "train_failed", Err: err}
		}
		man := m.Manifest()
		dir, _ := filepath.Abs(filepath.Join(*out, man.Name, man.Version))
		res = append(res, trained{Model: man.ID(), Algorithm: man.Training["algorithm"], SHA256: man.SHA256, Dir: dir,
			Metrics: man.Metrics, Card: filepath.Join(dir, modelcard.CardFile), Plot: filepath.Join(dir, modelcard.PlotFile)})
	}
	p.finish()
	return writeJSON(stdout, map[string]any{"models": res})
}

// modelSource returns the registry to read: dir when given; ./models when it holds name; else the
// models built into the binary.
func modelSource(dir, name string) (fsys fs.FS, root string, embedded bool) {
	if dir == "" {
		if st, err := os.Stat(filepath.Join("models", name)); err == nil && st.IsDir() {
			dir = "models"
		}
	}
	if dir == "" {
		return models.FS(), "", true
	}
	return os.DirFS(dir), dir, false
}

// splitID splits "name@version" ("name" means the latest version).
func splitID(id string) (name, version string) {
	for i := len(id) - 1; i >= 0; i-- {
		if id[i] == '@' {
			return id[:i], id[i+1:]
		}
	}
	return id, ""
}

// runModelCard prints a model card's metrics, selection and the path of its plot.
func runModelCard(ctx context.Context, e *env, args []string) error {
	flags := newFlags("model card")
	dir := flags.String("dir", "", "the registry directory (`DIR`; default ./models when it holds the model, else the models built into anya)")
	pos, err := parse(flags, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("model card: want exactly one argument, NAME[@VERSION]")
	}
	name, version := splitID(pos[0])
	fsys, root, embedded := modelSource(*dir, name)
	man, err := ml.OpenRegistryFS(fsys).Manifest(name, version)
	if err != nil {
		return &cliError{Code: "not_found", Err: err}
	}
	rel := path.Join(man.Name, man.Version)
	raw, err := fs.ReadFile(fsys, path.Join(rel, modelcard.CardFile))
	if err != nil {
		return &cliError{Code: "not_found", Err: fmt.Errorf("%s has no model card: %w", man.ID(), err)}
	}
	var card modelcard.Card
	if err := json.Unmarshal(raw, &card); err != nil {
		return &cliError{Code: "invalid_card", Err: err}
	}
	if embedded {
		// The binary's models have no files on disk: put the card where a viewer can open it.
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		root = filepath.Join(cache, "anya-go", "models")
		for _, f := range []string{modelcard.CardFile, modelcard.PlotFile} {
			b, err := fs.ReadFile(fsys, path.Join(rel, f))
			if err != nil {
				return &cliError{Code: "not_found", Err: err}
			}
			dst := filepath.Join(root, man.Name, man.Version, f)
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return &cliError{Code: "io", Err: err}
			}
			if err := os.WriteFile(dst, b, 0o644); err != nil {
				return &cliError{Code: "io", Err: err}
			}
		}
	}
	abs, err := filepath.Abs(filepath.Join(root, man.Name, man.Version))
	if err != nil {
		return &cliError{Code: "io", Err: err}
	}
	return writeJSON(e.stdout, map[string]any{
		"model":      man.ID(),
		"algorithm":  card.Algorithm,
		"metrics":    card.Test,
		"selection":  card.Selection,
		"candidates": card.Candidates,
		"card":       filepath.Join(abs, modelcard.CardFile),
		"plot":       filepath.Join(abs, card.Plot),
		"embedded":   embedded,
	})
}
