package ipld

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

type vectors struct {
	Data []struct {
		Size int    `json:"size"`
		CID  string `json:"cid"`
	} `json:"data"`
	DagCBOR []struct {
		Value json.RawMessage `json:"value"`
		CID   string          `json:"cid"`
		Hex   string          `json:"hex"`
	} `json:"dagCbor"`
}

func load(t *testing.T) vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/cid-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + 7)
	}
	return b
}

// TestDataCIDVectors checks DataCID against the UnixFS importer dwn-sdk-js uses, from the
// empty file through the single raw block, one dag-pb level and two levels.
func TestDataCIDVectors(t *testing.T) {
	v := load(t)
	if len(v.Data) < 10 {
		t.Fatalf("only %d data vectors", len(v.Data))
	}
	for _, c := range v.Data {
		if testing.Short() && c.Size > 4*ChunkSize {
			continue
		}
		got := DataCID(pattern(c.Size))
		if got != c.CID {
			t.Errorf("size %d: got %s, want %s", c.Size, got, c.CID)
		}
		codec, err := Parse(got)
		if err != nil {
			t.Errorf("size %d: %v", c.Size, err)
		}
		if want := uint64(CodecRaw); c.Size > ChunkSize {
			want = CodecDagPB
			if codec != want {
				t.Errorf("size %d: codec %#x", c.Size, codec)
			}
		} else if codec != want {
			t.Errorf("size %d: codec %#x", c.Size, codec)
		}
	}
}

func TestDagCBORVectors(t *testing.T) {
	v := load(t)
	for i, c := range v.DagCBOR {
		val, err := DecodeJSON(c.Value)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := DagCBOR(val)
		if err != nil {
			t.Fatalf("vector %d: %v", i, err)
		}
		if got := hex.EncodeToString(enc); got != c.Hex {
			t.Errorf("vector %d: encoding\n got %s\nwant %s", i, got, c.Hex)
		}
		cid, err := JSONCID(c.Value)
		if err != nil || cid != c.CID {
			t.Errorf("vector %d: cid %s (%v), want %s", i, cid, err, c.CID)
		}
	}
}

func TestDagCBORRejects(t *testing.T) {
	deep := any("x")
	for range MaxDepth + 2 {
		deep = []any{deep}
	}
	for name, v := range map[string]any{
		"struct":    struct{}{},
		"big int":   json.Number("9007199254740993"),
		"huge":      json.Number("1e400"),
		"too deep":  deep,
		"bad float": json.Number("1.2.3"),
	} {
		if _, err := DagCBOR(v); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestParse(t *testing.T) {
	good := CID(CodecDagCBOR, []byte("x"))
	if c, err := Parse(good); err != nil || c != CodecDagCBOR {
		t.Fatalf("Parse(%s) = %#x, %v", good, c, err)
	}
	upper := "b" + strings.ToUpper(good[1:])
	for _, s := range []string{"", "b", "Q" + good[1:], "B" + good[1:], good[:len(good)-2], good + "aa", "bafy!", upper,
		good[:10] + strings.ToUpper(good[10:11]) + good[11:], good[:20] + "\n" + good[20:], good[:20] + "\r" + good[20:],
		good + "="} {
		if _, err := Parse(s); !errors.Is(err, ErrInvalidCID) {
			t.Errorf("Parse(%q) = %v", s, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(CID(CodecRaw, nil))
	f.Add("bafybeif4z4ikxldcsjhv2l4sxmk57abnwjkwpa57gopqjvdhkyxddhmzf4")
	f.Add("b")
	f.Fuzz(func(t *testing.T, s string) {
		codec, digest, err := parse(s)
		if err != nil {
			return
		}
		// Only the canonical spelling of a CID parses: writing it back gives the input.
		if back := format(codec, digest); back != s {
			t.Fatalf("parsed %q, formats back as %q", s, back)
		}
	})
}

// A value already encoded is copied into the encoding of a value holding it: the result is the
// encoding of the value with the original in its place.
func TestEncoded(t *testing.T) {
	inner := map[string]any{"interface": "Records", "dataSize": json.Number("12"), "tags": []any{"a", true, nil}}
	enc, err := DagCBOR(inner)
	if err != nil {
		t.Fatal(err)
	}
	for _, outer := range []func(v any) any{
		func(v any) any { return v },
		func(v any) any { return map[string]any{"descriptor": v, "recordId": "x", "a": []any{v}} },
	} {
		want, err := DagCBOR(outer(inner))
		if err != nil {
			t.Fatal(err)
		}
		got, err := DagCBOR(outer(Encoded(enc)))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("with the encoded value spliced in: %x, want %x", got, want)
		}
	}
}

// The piecewise writers give what DagCBOR gives for the same value, at every length class of
// their heads.
func TestAppendPieces(t *testing.T) {
	for _, n := range []int{0, 1, 23, 24, 255, 256, 70000} {
		s := strings.Repeat("x", n)
		want, err := DagCBOR(map[string]any{"a": s, "bb": []any{s}})
		if err != nil {
			t.Fatal(err)
		}
		b := AppendMapHead(nil, 2)
		b = AppendString(AppendString(b, "a"), s)
		b = AppendString(AppendListHead(AppendString(b, "bb"), 1), s)
		if !bytes.Equal(b, want) {
			t.Fatalf("length %d: pieces differ from DagCBOR", n)
		}
	}
}
