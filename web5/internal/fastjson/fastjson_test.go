package fastjson

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode"
)

func TestMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		`{}`, `[]`, `""`, `0`, `-0`, `1.5e3`, `-12.25E-2`, `true`, `false`, `null`, ` {"a" : [1, "x", null, true, {"b": {}}]} `,
		`"\u00e9\n\t\\\"\/\b\f\r"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ud83dx"`, `"\udc00\ud83d"`, `"é😀"`,
		`{"vc":{"@context":["https://www.w3.org/2018/credentials/v1"],"credentialSubject":{"age":45}}}`,
		`123456789012345678901234567890`, `[1,[2,[3,[4]]]]`,
	} {
		got, err := Unmarshal([]byte(s))
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		var want any
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %#v, want %#v", s, got, want)
		}
	}
}

func TestRejects(t *testing.T) {
	for _, s := range []string{
		``, ` `, `{`, `[`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[1 2]`, `{a:1}`, `"abc`, "\"a\x01\"", `"\x"`, `"\u12"`,
		`01`, `-`, `1.`, `1e`, `.5`, `+1`, `1e400`, `tru`, `nul`, `{} {}`, `"\ud800\u"`,
		strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
	} {
		if v, err := Unmarshal([]byte(s)); err == nil {
			t.Errorf("%q: accepted as %#v", s, v)
		}
	}
	if _, err := Unmarshal([]byte(`{"alg":"EdDSA","alg":"none"}`)); !errors.Is(err, ErrDuplicateKey) {
		t.Errorf("duplicate key: %v", err)
	}
	for _, s := range []string{
		`{"kid":"a","KID":"b"}`, `{"kid":"a","Kid":"b"}`, `{"kid":"a","\u212Aid":"b"}`, "{\"kid\":\"a\",\"\u212Aid\":\"b\"}",
		`{"\u212Aid":"a","kID":"b"}`, `{"s":1,"\u017F":2}`, `{"a":{"x":1,"X":2}}`, `[{"é":1,"É":2}]`,
		`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12,"m":13,"n":14,"o":15,"p":16,"q":17,"r":18,"A":19}`,
		`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12,"m":13,"n":14,"o":15,"p":16,"q":17,"r":18,"\u212A":19}`,
	} {
		_, err := Unmarshal([]byte(s))
		var de *DuplicateKeyError
		if !errors.Is(err, ErrDuplicateKey) || !errors.As(err, &de) || !strings.EqualFold(de.Name, de.Previous) {
			t.Errorf("%s: %v", s, err)
		}
	}
	// Names that only look alike are distinct.
	for _, s := range []string{`{"kid":1,"kıd":2}`, `{"a":1,"á":2}`, `{"ß":1,"ss":2}`, `{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12,"m":13,"n":14,"o":15,"p":16,"q":17,"r":18,"s":19}`} {
		if _, err := Unmarshal([]byte(s)); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if _, err := Unmarshal([]byte("\"\xff\"")); err == nil {
		t.Error("invalid UTF-8 accepted")
	}
	if _, err := Unmarshal([]byte(`"\\` + "\xff" + `"`)); err == nil {
		t.Error("invalid UTF-8 after an escape accepted")
	}
}

// FuzzUnmarshal checks that whatever fastjson accepts, encoding/json accepts with the same
// value, and that fastjson only refuses what encoding/json refuses, or duplicate keys,
// invalid UTF-8 and excessive nesting.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{`{"a":[1,"b",null,{"c":true}]}`, `"\ud83d\ude00"`, `-1.5e-3`, `{"a":1,"a":2}`, "\"\xff\"", `[[[]]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Unmarshal(b)
		var want any
		stdErr := json.Unmarshal(b, &want)
		if err == nil {
			if stdErr != nil {
				t.Fatalf("accepted %q, encoding/json: %v", b, stdErr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%q: got %#v, encoding/json %#v", b, got, want)
			}
			return
		}
		if stdErr == nil {
			var se *SyntaxError
			ok := errors.Is(err, ErrDuplicateKey) || errors.As(err, &se) && (strings.Contains(se.Msg, "UTF-8") || strings.Contains(se.Msg, "depth"))
			if !ok {
				t.Fatalf("refused %q (%v), encoding/json accepts it", b, err)
			}
		}
	})
}

func TestUnmarshalNumbers(t *testing.T) {
	v, err := UnmarshalNumbers([]byte(`{"a":[9007199254740993,1.50,-0,1e2]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": []any{json.Number("9007199254740993"), json.Number("1.50"), json.Number("-0"), json.Number("1e2")}}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("got %#v", v)
	}
	if _, err := UnmarshalNumbers([]byte(`{"a":1,"A":2}`)); !errors.Is(err, ErrDuplicateKey) {
		t.Fatalf("case-variant keys: %v", err)
	}
}

// TestFoldHashAgreesWithEqualFold checks the hash on every rune with case mappings: runes
// equal under folding hash alike.
func TestFoldHashAgreesWithEqualFold(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if unicode.SimpleFold(r) == r {
			continue
		}
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if foldHash(string(r)) != foldHash(string(f)) {
				t.Fatalf("%U and %U fold together but hash apart", r, f)
			}
		}
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	data := []byte(`{"vc":{"@context":["https://www.w3.org/2018/credentials/v1"],"type":["VerifiableCredential","StreetCred"],"id":"urn:uuid:6c8bbcf4-87af-449a-9bfb-30bf29976227","issuer":"did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY","issuanceDate":"2023-11-30T00:03:13Z","credentialSubject":{"id":"did:key:zQ3shkpavjKRewoBk6arPJnhA87ZzhLDEWgVvZKNHK6QqVJDB","localRespect":"high","legit":true}},"iss":"did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY","sub":"did:key:zQ3shkpavjKRewoBk6arPJnhA87ZzhLDEWgVvZKNHK6QqVJDB","nbf":1701302593,"jti":"urn:uuid:6c8bbcf4-87af-449a-9bfb-30bf29976227","iat":1701302593}`)
	b.Run("fastjson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Unmarshal(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v any
			if err := json.Unmarshal(data, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
