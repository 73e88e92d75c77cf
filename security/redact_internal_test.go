package security

import "testing"

// personalDataByPatterns is personalData without its pre-filter: every pattern runs.
func personalDataByPatterns(s string) string {
	switch {
	case emailRE.MatchString(s):
		return "an e-mail address"
	case phoneRE.MatchString(s):
		return "a phone number"
	case ssnRE.MatchString(s):
		return "a social security number"
	case isCardNumber(s):
		return "a payment card number"
	case didRE.MatchString(s):
		return "a decentralized identifier"
	}
	return ""
}

// personalDataCases are strings near the edges of the pre-filter: the fewest digits, '+', '-',
// '@' or "did:" a pattern needs, and strings that look like numbers but are personal data.
var personalDataCases = []string{
	"", "account_age_days", "amount_sat", "0.25", "12345", "1e21", "-3.5",
	"alice@example.com", "a@b.co", "@example.com", "alice@", "x@y.z",
	"+1 415 555 0100", "+12", "+1.......5", "+1-------5", "(+1)2345678 9", "+0 123 456 7890",
	"415 555 0100", "(415) 555-0100", "415.555.0100", "4155550100", "415-555-010",
	"078-05-1120", "ssn 078-05-1120", "078051120", "078-05-112", "1078-05-11201",
	"4111 1111 1111 1111", "4111111111111111", "4111-1111-1111-1111", "411111111111", "4111111111111112",
	"5555555555554444", "378282246310005", "1234567890123",
	"did:dht:abc", "did:key:z6Mk", "did:", "DID:dht:abc", "did:x:", "xdid:a:b", "did:a:b c",
	"0x4111111111111111", "+4111111111111111", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "١٢٣-٤٥-٦٧٨٩",
}

// TestPersonalDataPrefilter checks that the pre-filter never skips a pattern that matches: with
// and without it, every string gets the same answer.
func TestPersonalDataPrefilter(t *testing.T) {
	for _, s := range personalDataCases {
		if got, want := personalData(s), personalDataByPatterns(s); got != want {
			t.Errorf("personalData(%q) = %q, the patterns alone say %q", s, got, want)
		}
	}
	// The pre-filter must not make these pass: number-looking strings that are personal data.
	for _, s := range []string{"4111111111111111", "+14155550100", "078-05-1120", "415 555 0100"} {
		if personalData(s) == "" {
			t.Errorf("personalData(%q) found nothing", s)
		}
	}
}

// FuzzPersonalData checks the pre-filter against the patterns alone on any string.
func FuzzPersonalData(f *testing.F) {
	for _, s := range personalDataCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := personalData(s), personalDataByPatterns(s); got != want {
			t.Fatalf("personalData(%q) = %q, the patterns alone say %q", s, got, want)
		}
	})
}
