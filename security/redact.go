package security

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// redactHash replaces a value by a keyed hash of its text.
func redactHash(key []byte, v any) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprint(m, v)
	return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
}

var (
	emailRE = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)
	phoneRE = regexp.MustCompile(`(^|[^0-9A-Za-z])(\+[1-9][0-9 ().\-]{7,18}[0-9]|\(?[0-9]{3}\)?[ .\-][0-9]{3}[ .\-][0-9]{4})($|[^0-9A-Za-z])`)
	ssnRE   = regexp.MustCompile(`(^|[^0-9])[0-9]{3}-[0-9]{2}-[0-9]{4}($|[^0-9])`)
	didRE   = regexp.MustCompile(`did:[a-z0-9]+:[^\s]+`)
)

// personalData names the kind of personal data s looks like, or "".
//
// One pass over the bytes first counts what each pattern needs at the least — an '@' for an
// e-mail address, "did:" for a DID, a '+' and two digits or ten digits for a phone number, nine
// digits and a '-' for a social security number, thirteen digits for a card number — and only
// the patterns whose needs are met run. The pre-filter is exact: it never skips a pattern that
// could match (FuzzPersonalData checks it against the patterns alone), and most strings (field
// names, addresses, hashes) run none.
func personalData(s string) string {
	var digits int
	var at, plus, dash, did bool
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '@':
			at = true
		case c == '+':
			plus = true
		case c == '-':
			dash = true
		case c == ':' && i >= 3 && s[i-3:i] == "did":
			did = true
		}
	}
	switch {
	case at && emailRE.MatchString(s):
		return "an e-mail address"
	case (digits >= 10 || plus && digits >= 2) && phoneRE.MatchString(s):
		return "a phone number"
	case digits >= 9 && dash && ssnRE.MatchString(s):
		return "a social security number"
	case digits >= 13 && isCardNumber(s):
		return "a payment card number"
	case did && didRE.MatchString(s):
		return "a decentralized identifier"
	}
	return ""
}

// isCardNumber reports whether s, without spaces and dashes, is 13 to 19 digits passing the Luhn
// check.
func isCardNumber(s string) bool {
	if len(s) > 40 {
		return false
	}
	d := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, s)
	if len(d) < 13 || len(d) > 19 {
		return false
	}
	sum := 0
	for i := len(d) - 1; i >= 0; i-- {
		c := d[i]
		if c < '0' || c > '9' {
			return false
		}
		n := int(c - '0')
		if (len(d)-1-i)%2 == 1 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return sum%10 == 0
}

// findPersonalData walks v and returns the path and kind of the first string that looks like
// personal data (keys included).
func findPersonalData(v any, path string, depth int) (string, string) {
	if depth > 64 {
		return path, "data nested too deeply to inspect"
	}
	switch x := v.(type) {
	case string:
		if k := personalData(x); k != "" {
			return path, k
		}
	case map[string]any:
		for key, e := range x {
			if k := personalData(key); k != "" {
				return keyPath(path, key), k + " (as a key)"
			}
			// As in lists: the path of a value is built when it can hold strings.
			switch e.(type) {
			case string, map[string]any, []any:
			default:
				if depth+1 <= 64 {
					continue
				}
			}
			if p, k := findPersonalData(e, keyPath(path, key), depth+1); k != "" {
				return p, k
			}
		}
	case []any:
		for i, e := range x {
			// Only strings and what holds them can be personal data: the path of an element is
			// built when it is one of those, not for each number of a long list.
			switch e.(type) {
			case string, map[string]any, []any:
			default:
				if depth+1 <= 64 {
					continue
				}
			}
			if p, k := findPersonalData(e, indexPath(path, i), depth+1); k != "" {
				return p, k
			}
		}
	}
	return "", ""
}

// keyPath is the path of key in the object at path.
func keyPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// indexPath is the path of element i of the list at path.
func indexPath(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }
