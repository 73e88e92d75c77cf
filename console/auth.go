package console

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// Authorizer decides whether a request may use the console. It returns nil to allow it, an
// error wrapping ErrUnauthenticated when the request carries no valid credentials (the console
// answers 401), and any other error to refuse it (403). It is called for every request, before
// anything else is read, so it sees every path and query as sent. It must be safe for
// concurrent use.
//
// The console has no Authorizer of its own making that lets everyone in: a host that wants one
// writes it, and says so in its code.
type Authorizer func(r *http.Request) error

// BasicRealm is the realm BasicAuth names in its challenge.
const BasicRealm = "anya console"

// BasicAuth returns an Authorizer that allows requests carrying HTTP Basic credentials equal to
// user and password, compared in constant time. An empty user or password allows no one.
// Basic credentials travel in clear: serve the console over TLS, or on loopback only.
func BasicAuth(user, password string) Authorizer {
	wantUser, wantPass := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(password))
	usable := user != "" && password != ""
	challenge := &UnauthenticatedError{Challenge: `Basic realm="` + BasicRealm + `", charset="UTF-8"`}
	return func(r *http.Request) error {
		u, p, ok := r.BasicAuth()
		if !ok || !usable {
			return challenge
		}
		gotUser, gotPass := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
		// Both comparisons run whatever the first finds.
		userOK := subtle.ConstantTimeCompare(gotUser[:], wantUser[:])
		passOK := subtle.ConstantTimeCompare(gotPass[:], wantPass[:])
		if userOK&passOK != 1 {
			return challenge
		}
		return nil
	}
}

// BearerToken returns an Authorizer that allows requests whose Authorization header is
// "Bearer " followed by token, compared in constant time. An empty token allows no one.
func BearerToken(token string) Authorizer {
	want := sha256.Sum256([]byte(token))
	usable := token != ""
	challenge := &UnauthenticatedError{Challenge: `Bearer realm="` + BasicRealm + `"`}
	return func(r *http.Request) error {
		scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !usable || !strings.EqualFold(scheme, "Bearer") {
			return challenge
		}
		sum := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			return challenge
		}
		return nil
	}
}
