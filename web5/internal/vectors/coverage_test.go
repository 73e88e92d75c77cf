package vectors

import (
	"os"
	"path/filepath"
	"testing"
)

// TestWeb5SpecCoverage accounts for the conformance target: all 18 web5-spec vector files,
// 123 cases, each copied into the testdata of the package whose tests run it (and which
// checks the same count with Run).
func TestWeb5SpecCoverage(t *testing.T) {
	files := []struct {
		pkg, file string
		cases     int
	}{
		{"jose", "crypto_ed25519/sign.json", 5},
		{"jose", "crypto_ed25519/verify.json", 7},
		{"jose", "crypto_es256k/sign.json", 4},
		{"jose", "crypto_es256k/verify.json", 8},
		{"did/diddht", "did_dht/create.json", 2},
		{"did/diddht", "did_dht/resolve.json", 4},
		{"did/didjwk", "did_jwk/resolve.json", 3},
		{"did/didweb", "did_web/resolve.json", 6},
		{"did", "portable_did/parse.json", 5},
		{"vc", "credentials/create.json", 21},
		{"vc", "credentials/verify.json", 12},
		{"vc", "vc_jwt/decode.json", 5},
		{"vc", "vc_jwt/verify.json", 10},
		{"pex", "presentation_exchange/create_presentation_from_credentials.json", 1},
		{"pex", "presentation_exchange/evaluate_presentation.json", 1},
		{"pex", "presentation_exchange/select_credentials.json", 7},
		{"pex", "presentation_exchange/validate_definition.json", 12},
		{"pex", "presentation_exchange/validate_submission.json", 10},
	}
	total := 0
	for _, f := range files {
		path := filepath.Join("..", "..", filepath.FromSlash(f.pkg), "testdata", "web5-spec", filepath.FromSlash(f.file))
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s: %v", f.file, err)
			continue
		}
		if got := len(Load(t, path).Vectors); got != f.cases {
			t.Errorf("%s: %d cases, want %d", f.file, got, f.cases)
		}
		total += f.cases
	}
	if len(files) != 18 || total != 123 {
		t.Fatalf("%d files, %d cases; the target is 18 files, 123 cases", len(files), total)
	}
	// The did:dht specification's vectors 1–3.
	for n := 1; n <= 3; n++ {
		for _, kind := range []string{"did-document", "dns-records"} {
			path := filepath.Join("..", "..", "did", "diddht", "testdata", "did-dht", "impl-testdata", "vector-"+string(rune('0'+n))+"-"+kind+".json")
			if _, err := os.Stat(path); err != nil {
				t.Error(err)
			}
		}
	}
}
