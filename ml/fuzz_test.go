package ml_test

import (
	"context"
	"encoding/json"
	"testing"
	"testing/fstest"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/mltest"
)

// FuzzRegistryLoad feeds arbitrary manifests and model files to the registry: loading must
// refuse bad ones with an error and never panic, and a model that loads must score (or refuse)
// without panicking.
func FuzzRegistryLoad(f *testing.F) {
	for _, tm := range []*mltest.Tiny{mltest.Linear([]float32{1, 2}, 0), mltest.Trees(1, 3, 2, 3), mltest.MLP(2, 3, 2)} {
		man, err := json.Marshal(tm.Model.Manifest())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(man, tm.Model.Bytes())
		f.Add(man, tm.Model.Bytes()[:len(tm.Model.Bytes())/2])
	}
	f.Add([]byte(`{"name":"x","version":"1"}`), []byte{})
	f.Add([]byte(`not json`), []byte{0x08, 0x08})
	f.Fuzz(func(t *testing.T, manifest, model []byte) {
		var man ml.Manifest
		if json.Unmarshal(manifest, &man) != nil || !ml.ValidName(man.Name) || !ml.ValidName(man.Version) {
			return
		}
		fsys := fstest.MapFS{
			man.Name + "/" + man.Version + "/model.json": {Data: manifest},
			man.Name + "/" + man.Version + "/model.onnx": {Data: model},
		}
		m, err := ml.OpenRegistryFS(fsys).Load(context.Background(), man.Name, man.Version)
		if err != nil {
			return
		}
		s, err := ml.NewGoBackend().NewSession(m)
		if err != nil {
			return
		}
		defer s.Close()
		x := make([]float32, 2*m.Width())
		for i := range x {
			x[i] = float32(i) / 3
		}
		s.Run(x, 2, make([]float32, 2))
	})
}
