package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
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

const modelUsage = "usage: anya model train [--out DIR] [--model NAME] | anya model card NAME[@VERSION] [--dir DIR]"

func runModel(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return fail(stdout, "usage", errors.New(modelUsage))
	}
	switch args[0] {
	case "train":
		return modelTrain(ctx, args[1:], stdout, stderr)
	case "card":
		return modelCard(ctx, args[1:], stdout)
	}
	return fail(stdout, "usage", fmt.Errorf("unknown subcommand %q; %s", args[0], modelUsage))
}

// progress turns recipe progress into one progress bar per stage on stderr.
type progress struct {
	w   io.Writer
	key string
	bar *progressbar.ProgressBar
}

func (p *progress) update(model, stage string, done, total int) {
	key := model + ": " + stage
	if p.bar == nil || key != p.key {
		p.finish()
		p.key = key
		p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(p.w), progressbar.OptionSetDescription(key),
			progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionThrottle(0))
	}
	p.bar.Set(done)
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
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

func modelTrain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("model train", flag.ContinueOnError)
	out := flags.String("out", "models", "directory to write the models into (a registry tree)")
	only := flags.String("model", "", "train only this model (default: all)")
	pos, err := parseFlags(flags, args)
	if err != nil || len(pos) > 0 {
		return fail(stdout, "usage", fmt.Errorf("%s (%v)", modelUsage, err))
	}
	var specs []recipe.Spec
	for _, s := range recipe.Specs {
		if *only == "" || s.Name == *only {
			specs = append(specs, s)
		}
	}
	if len(specs) == 0 {
		return fail(stdout, "not_found", fmt.Errorf("no model called %q", *only))
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fail(stdout, "io", err)
	}
	p := &progress{w: stderr}
	var ms []*ml.Model
	for _, s := range specs {
		m, err := recipe.BuildOne(ctx, *out, s, p.update)
		if err != nil {
			p.finish()
			return fail(stdout, "train_failed", err)
		}
		ms = append(ms, m)
	}
	p.finish()
	var res []trained
	for _, m := range ms {
		man := m.Manifest()
		dir, _ := filepath.Abs(filepath.Join(*out, man.Name, man.Version))
		res = append(res, trained{Model: man.ID(), Algorithm: man.Training["algorithm"], SHA256: man.SHA256, Dir: dir,
			Metrics: man.Metrics, Card: filepath.Join(dir, modelcard.CardFile), Plot: filepath.Join(dir, modelcard.PlotFile)})
	}
	writeJSON(stdout, map[string]any{"models": res})
	return 0
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

func splitID(id string) (name, version string) {
	for i := len(id) - 1; i >= 0; i-- {
		if id[i] == '@' {
			return id[:i], id[i+1:]
		}
	}
	return id, ""
}

func modelCard(ctx context.Context, args []string, stdout io.Writer) int {
	flags := flag.NewFlagSet("model card", flag.ContinueOnError)
	dir := flags.String("dir", "", "registry directory (default ./models when it holds the model, else the models built into anya)")
	pos, err := parseFlags(flags, args)
	if err != nil || len(pos) != 1 {
		return fail(stdout, "usage", fmt.Errorf("%s (%v)", modelUsage, err))
	}
	name, version := splitID(pos[0])
	fsys, root, embedded := modelSource(*dir, name)
	reg := ml.OpenRegistryFS(fsys)
	man, err := reg.Manifest(name, version)
	if err != nil {
		return fail(stdout, "not_found", err)
	}
	rel := path.Join(man.Name, man.Version)
	raw, err := fs.ReadFile(fsys, path.Join(rel, modelcard.CardFile))
	if err != nil {
		return fail(stdout, "not_found", fmt.Errorf("%s has no model card: %w", man.ID(), err))
	}
	var card modelcard.Card
	if err := json.Unmarshal(raw, &card); err != nil {
		return fail(stdout, "invalid_card", err)
	}
	cardPath, plotPath := "", ""
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
				return fail(stdout, "not_found", err)
			}
			dst := filepath.Join(root, man.Name, man.Version, f)
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return fail(stdout, "io", err)
			}
			if err := os.WriteFile(dst, b, 0o644); err != nil {
				return fail(stdout, "io", err)
			}
		}
	}
	abs, _ := filepath.Abs(filepath.Join(root, man.Name, man.Version))
	cardPath, plotPath = filepath.Join(abs, modelcard.CardFile), filepath.Join(abs, card.Plot)
	writeJSON(stdout, map[string]any{
		"model":      man.ID(),
		"algorithm":  card.Algorithm,
		"metrics":    card.Test,
		"selection":  card.Selection,
		"candidates": card.Candidates,
		"card":       cardPath,
		"plot":       plotPath,
		"embedded":   embedded,
	})
	return 0
}
