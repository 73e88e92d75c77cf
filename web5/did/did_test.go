package did

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	good := map[string]DID{
		"did:example:123456789abcdefghi":                                                     {"example", "123456789abcdefghi"},
		"did:web:example.com%3A3000:user:alice":                                              {"web", "example.com%3A3000:user:alice"},
		"did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY":                           {"key", "z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY"},
		"did:pkh:bip122:000000000019d6689c085ae165831e93:128Lkh3S7CkDTBZ8W7BbpsN3YYizJMp8p6": {"pkh", "bip122:000000000019d6689c085ae165831e93:128Lkh3S7CkDTBZ8W7BbpsN3YYizJMp8p6"},
		"did:a1:b::c": {"a1", "b::c"},
		"did:x:_-.":   {"x", "_-."},
	}
	for s, want := range good {
		got, err := Parse(s)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", s, got, err, want)
		}
		if got.String() != s {
			t.Errorf("String() = %q, want %q", got.String(), s)
		}
	}
	bad := []string{
		"", "did", "did:", "did::x", "did:Example:x", "did:ex-ample:x", "did:example", "did:example:",
		"did:example:x:", "DID:example:x", "did:example:x y", "did:web:invalidcharø.com",
		"did:example:%zz", "did:example:%4", "did:example:x#frag", "did:example:x/path", "did:example:x?q",
		"did:example:x;a=b", "invalid-did", " did:example:x", "did:example:x\n",
		"did:example:" + strings.Repeat("a", MaxLength),
	}
	for _, s := range bad {
		_, err := Parse(s)
		var pe *ParseError
		if !errors.Is(err, ErrInvalidDID) || !errors.As(err, &pe) {
			t.Errorf("Parse(%q): %v, want a ParseError", s, err)
		}
	}
}

func TestParseURL(t *testing.T) {
	u, err := ParseURL("did:example:123;service=agent;version-id=1/some/path?query=a&b=c#key-1")
	if err != nil {
		t.Fatal(err)
	}
	if u.DID != (DID{"example", "123"}) || u.Path != "/some/path" || u.Query != "query=a&b=c" || u.Fragment != "key-1" {
		t.Fatalf("%+v", u)
	}
	if u.Params["service"] != "agent" || u.Params["version-id"] != "1" || len(u.Params) != 2 {
		t.Fatalf("params %v", u.Params)
	}
	if u.String() != "did:example:123;service=agent;version-id=1/some/path?query=a&b=c#key-1" {
		t.Fatalf("String %q", u.String())
	}
	q, _ := u.QueryValues()
	if q.Get("b") != "c" {
		t.Fatal("query values")
	}
	for _, s := range []string{"did:example:123", "did:example:123#", "did:example:123?", "did:example:123#a?b/c", "did:example:123/%41"} {
		u, err := ParseURL(s)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", s, err)
			continue
		}
		if u.String() != s {
			t.Errorf("round trip %q -> %q", s, u.String())
		}
	}
	if u, _ := ParseURL("did:example:123#"); !u.HasFragment() || u.IsDID() {
		t.Error("empty fragment lost")
	}
	for _, s := range []string{"did:example:123#a b", "did:example:123#%", "did:example:123?<", "did:example:123;a", "did:example:123;=b",
		"did:example:123;a=b=c", "did:example:123;a=1;a=2", "did:example:123x/\x00", "did:example:123#\xff"} {
		if _, err := ParseURL(s); !errors.Is(err, ErrInvalidDID) {
			t.Errorf("ParseURL(%q): %v, want ErrInvalidDID", s, err)
		}
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"did:example:123", "did:web:example.com%3A3000:user:alice#key-1", "did:x:y;a=b/p?q#f", "did:", "did:a:b?c#d", "did:web:invalidcharø.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURL(s)
		if err != nil {
			return
		}
		back, err := ParseURL(u.String())
		if err != nil {
			t.Fatalf("ParseURL(%q).String() = %q does not parse: %v", s, u.String(), err)
		}
		if back.String() != u.String() {
			t.Fatalf("unstable: %q -> %q", u.String(), back.String())
		}
		if d, err := Parse(u.DID.String()); err != nil || d != u.DID {
			t.Fatalf("DID part %q does not parse: %v", u.DID, err)
		}
		if u.IsDID() {
			if _, err := Parse(s); err != nil {
				t.Fatalf("plain DID URL %q rejected by Parse: %v", s, err)
			}
		}
	})
}
