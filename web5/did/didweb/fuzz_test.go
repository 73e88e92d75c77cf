package didweb

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/anya-org/anya-go/web5/did"
)

// FuzzNewDID: a DID NewDID builds parses, and its document URL names the host and the
// path segments it was built from; anything else is an invalidDid error.
func FuzzNewDID(f *testing.F) {
	f.Add("example.com", "user", "alice")
	f.Add("example.com:3000", "a b", "c~d")
	f.Add("[::1]:8443", "", "")
	f.Add("127.0.0.1", "100%", "é")
	f.Add("exa_mple.com", "..", "/")
	f.Fuzz(func(t *testing.T, host, seg1, seg2 string) {
		var path []string
		for _, s := range []string{seg1, seg2} {
			if s != "" {
				path = append(path, s)
			}
		}
		d, err := NewDID(host, path...)
		if err != nil {
			if !errors.Is(err, did.ErrInvalidDID) {
				t.Fatalf("NewDID(%q, %q): %v is not invalidDid", host, path, err)
			}
			return
		}
		if _, err := did.Parse(d.String()); err != nil {
			t.Fatalf("NewDID(%q, %q) = %s does not parse: %v", host, path, d, err)
		}
		raw, err := DocumentURL(d)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%s: URL %q: %v", d, raw, err)
		}
		if !strings.EqualFold(u.Host, host) && !strings.EqualFold(u.Host, "["+host+"]") {
			t.Fatalf("NewDID(%q): URL host %q", host, u.Host)
		}
		want := "/.well-known/did.json"
		if len(path) > 0 {
			want = "/" + strings.Join(path, "/") + "/did.json"
		}
		if u.Path != want {
			t.Fatalf("NewDID(%q, %q): URL path %q, want %q", host, path, u.Path, want)
		}
	})
}
