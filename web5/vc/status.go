package vc

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/anya-org/anya-go/web5/netguard"
)

// Status list types and purposes (W3C Bitstring Status List v1.0 and StatusList2021).
const (
	TypeBitstringStatusListEntry      = "BitstringStatusListEntry"
	TypeBitstringStatusListCredential = "BitstringStatusListCredential"
	TypeBitstringStatusList           = "BitstringStatusList"
	TypeStatusList2021Entry           = "StatusList2021Entry"
	TypeStatusList2021Credential      = "StatusList2021Credential"
	TypeStatusList2021                = "StatusList2021"

	PurposeRevocation = "revocation"
	PurposeSuspension = "suspension"
)

// MinStatusListSize is the smallest status list issued (131,072 entries, 16 KiB), the size
// both specifications require so that one credential hides among many.
const MinStatusListSize = 131072

// MaxStatusListBytes bounds the decompressed size of a status list a verifier accepts.
const MaxStatusListBytes = 16 << 20

// StatusList is a bitstring status list: entry i is bit i, counting from the most
// significant bit of the first byte.
type StatusList struct {
	bits []byte
}

// NewStatusList returns a list of at least n entries, all clear (MinStatusListSize when n
// is smaller).
func NewStatusList(n int) *StatusList {
	if n < MinStatusListSize {
		n = MinStatusListSize
	}
	return &StatusList{bits: make([]byte, (n+7)/8)}
}

// Len returns the number of entries.
func (l *StatusList) Len() int { return len(l.bits) * 8 }

// Set sets or clears entry i.
func (l *StatusList) Set(i int, on bool) error {
	if i < 0 || i >= l.Len() {
		return fmt.Errorf("vc: status list index %d out of range [0,%d)", i, l.Len())
	}
	if on {
		l.bits[i/8] |= 0x80 >> (i % 8)
	} else {
		l.bits[i/8] &^= 0x80 >> (i % 8)
	}
	return nil
}

// Get reports whether entry i is set.
func (l *StatusList) Get(i int) (bool, error) {
	v, err := l.value(i, 1)
	return v != 0, err
}

// value reads the size-bit entry i (statusSize > 1 packs several bits per entry).
func (l *StatusList) value(i, size int) (uint64, error) {
	if size < 1 || size > 64 {
		return 0, fmt.Errorf("vc: status size %d", size)
	}
	if i < 0 || i > (l.Len()/size)-1 {
		return 0, fmt.Errorf("vc: status list index %d out of range [0,%d)", i, l.Len()/size)
	}
	var v uint64
	for b := i * size; b < (i+1)*size; b++ {
		v = v<<1 | uint64(l.bits[b/8]>>(7-b%8)&1)
	}
	return v, nil
}

// Encode returns the encodedList: GZIP-compressed, base64url-encoded, with the multibase
// "u" prefix for 2.0 (Bitstring Status List) and without it for 1.1 (StatusList2021).
func (l *StatusList) Encode(v Version) (string, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(l.bits); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	s := base64.RawURLEncoding.EncodeToString(buf.Bytes())
	if v == V2 {
		s = "u" + s
	}
	return s, nil
}

// DecodeStatusList decodes an encodedList (with or without the multibase "u" prefix).
func DecodeStatusList(encoded string) (*StatusList, error) {
	s := strings.TrimPrefix(encoded, "u")
	s = strings.TrimRight(s, "=")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		if raw, err = base64.RawStdEncoding.DecodeString(s); err != nil {
			return nil, fmt.Errorf("vc: encodedList is not base64")
		}
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("vc: encodedList is not GZIP: %w", err)
	}
	bits, err := io.ReadAll(io.LimitReader(zr, MaxStatusListBytes+1))
	if err != nil {
		return nil, fmt.Errorf("vc: encodedList: %w", err)
	}
	if len(bits) > MaxStatusListBytes {
		return nil, fmt.Errorf("vc: encodedList decompresses to more than %d bytes", MaxStatusListBytes)
	}
	return &StatusList{bits: bits}, nil
}

// NewStatusEntry returns the credentialStatus entry pointing at index of the status list
// credential at listURL: a BitstringStatusListEntry for 2.0, a StatusList2021Entry for 1.1.
func NewStatusEntry(v Version, listURL string, index int, purpose string) Status {
	t := TypeStatusList2021Entry
	if v == V2 {
		t = TypeBitstringStatusListEntry
	}
	return Status{
		ID:                   listURL + "#" + strconv.Itoa(index),
		Type:                 t,
		StatusPurpose:        purpose,
		StatusListIndex:      strconv.Itoa(index),
		StatusListCredential: listURL,
	}
}

// NewStatusListCredential returns the (unsigned) status list credential for l, issued by
// issuer and published at id: a BitstringStatusListCredential for 2.0, a
// StatusList2021Credential for 1.1. Sign it with Credential.Sign.
func NewStatusListCredential(v Version, issuer, id, purpose string, l *StatusList, issued time.Time) (*Credential, error) {
	enc, err := l.Encode(v)
	if err != nil {
		return nil, err
	}
	c := &Credential{ID: id, Issuer: Issuer{ID: issuer}}
	subjectType := TypeStatusList2021
	if v == V2 {
		c.Context = []any{ContextV2}
		c.Type = []string{TypeCredential, TypeBitstringStatusListCredential}
		c.ValidFrom = issued
		subjectType = TypeBitstringStatusList
	} else {
		c.Context = []any{ContextV1, "https://w3id.org/vc/status-list/2021/v1"}
		c.Type = []string{TypeCredential, TypeStatusList2021Credential}
		c.IssuanceDate = issued
	}
	c.CredentialSubject = []Subject{{"id": id + "#list", "type": subjectType, "statusPurpose": purpose, "encodedList": enc}}
	return c, c.Validate()
}

// StatusListFetcher fetches status list credentials, in their secured (JWT) form.
type StatusListFetcher interface {
	FetchStatusList(ctx context.Context, url string) (string, error)
}

// StatusListFetcherFunc adapts a function to StatusListFetcher.
type StatusListFetcherFunc func(ctx context.Context, url string) (string, error)

// FetchStatusList calls f.
func (f StatusListFetcherFunc) FetchStatusList(ctx context.Context, url string) (string, error) {
	return f(ctx, url)
}

// DefaultFetchTimeout bounds HTTPStatusLists and HTTPSchemas requests unless their
// options say otherwise.
const DefaultFetchTimeout = netguard.DefaultTimeout

// MaxFetchSize bounds a status list credential or schema HTTPStatusLists and HTTPSchemas
// read: 1 MiB. A larger response is an error (netguard.ErrTooLarge), never cut short.
const MaxFetchSize = 1 << 20

// HTTPStatusLists fetches status list credentials over HTTP(S). The URLs come from the
// credentials being verified, so the fetcher is a package netguard client: it refuses
// loopback, private, link-local and other non-global addresses (checked when dialling and
// on every redirect), follows at most netguard.DefaultMaxRedirects redirects, times out
// after DefaultFetchTimeout and reads at most MaxFetchSize bytes. opts adjust it
// (netguard.WithHTTPClient, netguard.WithAllowPrivateNetworks, ...). Invalid options are
// *OptionError values wrapping the netguard.OptionError.
func HTTPStatusLists(opts ...netguard.Option) (StatusListFetcher, error) {
	c, err := fetchClient(opts)
	if err != nil {
		return nil, err
	}
	return StatusListFetcherFunc(func(ctx context.Context, url string) (string, error) {
		resp, err := c.Get(ctx, url, "application/vc+jwt, application/jwt")
		if err != nil {
			return "", err
		}
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return strings.TrimSpace(string(resp.Body)), nil
	}), nil
}

func fetchClient(opts []netguard.Option) (*netguard.Client, error) {
	c, err := netguard.New(append([]netguard.Option{netguard.WithMaxBodySize(MaxFetchSize)}, opts...)...)
	if err != nil {
		oe := &OptionError{Option: "netguard.Option", Reason: err.Error(), Err: err}
		var ne *netguard.OptionError
		if errors.As(err, &ne) {
			oe.Option, oe.Value, oe.Reason = "netguard."+ne.Option, ne.Value, ne.Reason
		}
		return nil, oe
	}
	return c, nil
}

// checkStatus checks every status entry of c (see WithStatusCheck).
func (v *Verifier) checkStatus(ctx context.Context, c *Credential) error {
	for _, st := range c.CredentialStatus {
		var listType, subjectType string
		switch st.Type {
		case TypeBitstringStatusListEntry:
			listType, subjectType = TypeBitstringStatusListCredential, TypeBitstringStatusList
		case TypeStatusList2021Entry:
			listType, subjectType = TypeStatusList2021Credential, TypeStatusList2021
		default:
			return &StatusError{Purpose: st.StatusPurpose, List: st.StatusListCredential, Err: fmt.Errorf("%w: status type %q is not supported", ErrStatus, st.Type)}
		}
		fail := func(index int, format string, args ...any) error {
			return &StatusError{Purpose: st.StatusPurpose, Index: index, List: st.StatusListCredential, Err: fmt.Errorf("%w: "+format, append([]any{ErrStatus}, args...)...)}
		}
		index, err := strconv.Atoi(st.StatusListIndex)
		if err != nil || index < 0 {
			return fail(0, "statusListIndex %q", st.StatusListIndex)
		}
		size := st.StatusSize
		if size == 0 {
			size = 1
		}
		if (st.StatusPurpose == PurposeRevocation || st.StatusPurpose == PurposeSuspension) && size != 1 {
			return fail(index, "statusSize %d for %s", size, st.StatusPurpose)
		}
		if !isURI(st.StatusListCredential) {
			return fail(index, "statusListCredential %q is not a URL", st.StatusListCredential)
		}
		tok, err := v.status.FetchStatusList(ctx, st.StatusListCredential)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			return fail(index, "fetch: %w", err)
		}
		inner := *v
		inner.status = nil // a status list's own status is not followed
		list, err := inner.Verify(ctx, tok)
		if err != nil {
			return fail(index, "status list credential: %v", err)
		}
		if list.Issuer.ID != c.Issuer.ID {
			return fail(index, "status list issued by %s, not by the credential's issuer %s", list.Issuer.ID, c.Issuer.ID)
		}
		if list.ID != "" && list.ID != st.StatusListCredential {
			return fail(index, "status list credential id %q is not %q", list.ID, st.StatusListCredential)
		}
		if !list.HasType(listType) || len(list.CredentialSubject) != 1 {
			return fail(index, "not a %s", listType)
		}
		sub := list.CredentialSubject[0]
		if sub["type"] != subjectType {
			return fail(index, "credential subject is not a %s", subjectType)
		}
		if sub["statusPurpose"] != st.StatusPurpose {
			return fail(index, "status list purpose %v is not %q", sub["statusPurpose"], st.StatusPurpose)
		}
		enc, _ := sub["encodedList"].(string)
		bits, err := DecodeStatusList(enc)
		if err != nil {
			return fail(index, "%v", err)
		}
		val, err := bits.value(index, size)
		if err != nil {
			return fail(index, "%v", err)
		}
		if val == 0 {
			continue
		}
		switch st.StatusPurpose {
		case PurposeRevocation:
			return &StatusError{Purpose: st.StatusPurpose, Index: index, List: st.StatusListCredential, Err: ErrRevoked}
		case PurposeSuspension:
			return &StatusError{Purpose: st.StatusPurpose, Index: index, List: st.StatusListCredential, Err: ErrSuspended}
		}
	}
	return nil
}

func isErr(err, target error) bool { return errors.Is(err, target) }
