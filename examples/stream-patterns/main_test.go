package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The demo joins the three streams by address and finds the pattern for alice only: bob's
// large payment comes too late and his early one is too small, carol pays before she links,
// dave has no DID.
func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		`three protocol streams on simchain: 5 bitcoin payments, 6 web5 identity events, 5 ml risk scores`,
		`\(alice\) +payments 1 \( *50000000 sat\) +linked to did:key:z\w+… +risk +\d\.\d\d\n`,
		`\(carol\) +payments 1 \( *50000000 sat\) +linked to did:key:z\w+… +risk +\d\.\d\d\n`,
		`\(dave\) +payments 1 \( *50000000 sat\) +— +risk +\d\.\d\d  \(no \[web5\]\)`,
		`\(bob\) +payments 0 \( *0 sat\) +linked to did:key:z\w+… +risk +—  \(no \[bitcoin ml\]\)`,
		`\(bob\) +payments 1 \( *20000000 sat\) +— +risk +\d\.\d\d  \(no \[web5\]\)`,
		`MATCH did:key:z\w+ \(alice\), 8m0s after its creation, match [0-9a-f]{32}\n` +
			` +created +\d\d:\d\d:\d\d  the DID is created\n` +
			` +linked +\d\d:\d\d:\d\d  linked to bcrt1q\w+ \(BIP-322 proof verified\)\n` +
			` +paid +\d\d:\d\d:\d\d  50000000 sat in [0-9a-f]{64}, fraud risk \d\.\d\d\n`,
		`no match for did:key:z\w+ \(bob\)`,
		`no match for did:key:z\w+ \(carol\)`,
	} {
		if !regexp.MustCompile(want).MatchString(s) {
			t.Errorf("the output lacks %q:\n%s", want, s)
		}
	}
	if n := strings.Count(s, "MATCH"); n != 1 {
		t.Errorf("%d matches:\n%s", n, s)
	}
}
