package bus

import (
	"strings"
)

// Topics are dot-separated tokens ("bitcoin.block.connected"), the same subject syntax NATS uses, so
// names carry over unchanged to a distributed transport. A topic a message is published to is
// literal: no token may be empty, and '*' and '>' are not allowed in it. A subscription pattern may
// use '*' to match exactly one token and '>' as its last token to match one or more remaining
// tokens. Tokens never contain whitespace.

// ValidateTopic reports whether topic is a valid literal topic. It returns a *TopicError wrapping
// ErrInvalidTopic when it is not.
func ValidateTopic(topic string) error {
	if topic == "" {
		return &TopicError{Topic: topic, Reason: "empty topic", err: ErrInvalidTopic}
	}
	start := 0
	for i := 0; i <= len(topic); i++ {
		if i < len(topic) && topic[i] != '.' {
			if c := topic[i]; c == '*' || c == '>' {
				return &TopicError{Topic: topic, Reason: "wildcard in a topic to publish to", err: ErrInvalidTopic}
			} else if isSpace(c) {
				return &TopicError{Topic: topic, Reason: "whitespace in topic", err: ErrInvalidTopic}
			}
			continue
		}
		if i == start {
			return &TopicError{Topic: topic, Reason: "empty token", err: ErrInvalidTopic}
		}
		start = i + 1
	}
	return nil
}

// pattern is a parsed subscription pattern.
type pattern struct {
	raw    string
	tokens []string // without a trailing '>'
	tail   bool     // pattern ended with '>'
	exact  bool     // no wildcards at all
}

// ValidatePattern reports whether p is a valid subscription pattern. It returns a *TopicError
// wrapping ErrInvalidPattern when it is not.
func ValidatePattern(p string) error {
	_, err := parsePattern(p)
	return err
}

func parsePattern(p string) (pattern, error) {
	bad := func(reason string) (pattern, error) {
		return pattern{}, &TopicError{Topic: p, Reason: reason, err: ErrInvalidPattern}
	}
	if p == "" {
		return bad("empty pattern")
	}
	toks := strings.Split(p, ".")
	pt := pattern{raw: p, exact: true}
	for i, t := range toks {
		switch {
		case t == "":
			return bad("empty token")
		case t == ">":
			if i != len(toks)-1 {
				return bad("'>' must be the last token")
			}
			pt.tail = true
			pt.exact = false
			continue
		case t == "*":
			pt.exact = false
		case strings.ContainsAny(t, "*>"):
			return bad("wildcard inside a token")
		case strings.IndexFunc(t, func(r rune) bool { return r < 0x80 && isSpace(byte(r)) }) >= 0:
			return bad("whitespace in pattern")
		}
		pt.tokens = append(pt.tokens, t)
	}
	return pt, nil
}

// match reports whether the literal topic matches the pattern. It does not allocate.
func (p *pattern) match(topic string) bool {
	if p.exact {
		return topic == p.raw
	}
	rest := topic
	for _, want := range p.tokens {
		if rest == "" {
			return false
		}
		tok, after, found := strings.Cut(rest, ".")
		if want != "*" && want != tok {
			return false
		}
		if !found {
			rest = ""
		} else {
			rest = after
			if rest == "" { // trailing dot cannot occur in a valid topic, but stay safe
				return false
			}
		}
	}
	if p.tail {
		return rest != ""
	}
	return rest == ""
}

// MatchTopic reports whether the literal topic matches the subscription pattern. An invalid pattern
// or topic never matches.
func MatchTopic(pat, topic string) bool {
	p, err := parsePattern(pat)
	if err != nil || ValidateTopic(topic) != nil {
		return false
	}
	return p.match(topic)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}
