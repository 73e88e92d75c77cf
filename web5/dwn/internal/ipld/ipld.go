package ipld

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/anya-org/anya-go/web5/internal/fastjson"
)

// Multicodec codes used here.
const (
	CodecRaw     = 0x55
	CodecDagPB   = 0x70
	CodecDagCBOR = 0x71
	hashSHA256   = 0x12
)

// Chunking parameters of the UnixFS importer defaults.
const (
	ChunkSize          = 262144
	MaxChildrenPerNode = 174
)

// MaxDepth bounds the nesting of values DagCBOR encodes.
const MaxDepth = 64

var (
	// ErrUnsupported reports a value DagCBOR cannot encode (a type JSON does not produce, a
	// number out of range, or nesting deeper than MaxDepth).
	ErrUnsupported = errors.New("ipld: value not encodable")
	// ErrInvalidCID reports a string that is not a CIDv1 in base32 multibase.
	ErrInvalidCID = errors.New("ipld: invalid CID")
)

// b32 is the base32 of multibase prefix 'b': RFC 4648 in lower case, without padding.
var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// CID returns the CIDv1 string of a block with the given codec.
func CID(codec uint64, block []byte) string {
	d := sha256.Sum256(block)
	return format(codec, d[:])
}

func cidBytes(codec uint64, digest []byte) []byte {
	return appendCIDBytes(make([]byte, 0, 4+len(digest)), codec, digest)
}

func appendCIDBytes(b []byte, codec uint64, digest []byte) []byte {
	b = binary.AppendUvarint(b, 1)
	b = binary.AppendUvarint(b, codec)
	b = binary.AppendUvarint(b, hashSHA256)
	b = binary.AppendUvarint(b, uint64(len(digest)))
	return append(b, digest...)
}

// appendFormat appends the CID string of digest with codec.
func appendFormat(b []byte, codec uint64, digest []byte) []byte {
	var raw [48]byte
	return b32.AppendEncode(append(b, 'b'), appendCIDBytes(raw[:0], codec, digest))
}

func format(codec uint64, digest []byte) string {
	var buf [80]byte
	return string(appendFormat(buf[:0], codec, digest))
}

// Parse checks that s is a base32 CIDv1 with a sha2-256 multihash and returns its codec.
func Parse(s string) (codec uint64, err error) {
	codec, _, err = parse(s)
	return codec, err
}

func parse(s string) (codec uint64, digest []byte, err error) {
	if len(s) < 2 || s[0] != 'b' {
		return 0, nil, ErrInvalidCID
	}
	// Lower case only: the alphabet has no capitals.
	raw, err := b32.DecodeString(s[1:])
	if err != nil {
		return 0, nil, ErrInvalidCID
	}
	var fields [4]uint64
	rest := raw
	for i := range fields {
		v, n := binary.Uvarint(rest)
		if n <= 0 {
			return 0, nil, ErrInvalidCID
		}
		fields[i], rest = v, rest[n:]
	}
	if fields[0] != 1 || fields[2] != hashSHA256 || fields[3] != sha256.Size || len(rest) != sha256.Size {
		return 0, nil, ErrInvalidCID
	}
	// Only the canonical spelling: minimal varints, no stray bits in the last base32 digit.
	var buf [80]byte
	if string(appendFormat(buf[:0], fields[1], rest)) != s {
		return 0, nil, ErrInvalidCID
	}
	return fields[1], rest, nil
}

// CBORCID encodes v with DagCBOR and returns the CID of the encoding.
func CBORCID(v any) (string, error) {
	b, err := DagCBOR(v)
	if err != nil {
		return "", err
	}
	return CID(CodecDagCBOR, b), nil
}

// JSONCID decodes the JSON document data and returns the CID of its dag-cbor encoding.
func JSONCID(data []byte) (string, error) {
	v, err := DecodeJSON(data)
	if err != nil {
		return "", err
	}
	return CBORCID(v)
}

// DecodeJSON decodes JSON keeping numbers as json.Number, the form DagCBOR reads. It is
// the SDK's strict reader: a member name that repeats in an object, exactly or under
// Unicode case folding, is an error (a *fastjson.DuplicateKeyError), since the CID would
// otherwise name bytes that readers understand differently.
func DecodeJSON(data []byte) (any, error) {
	return fastjson.UnmarshalNumbers(data)
}

// Encoded is a value already encoded as dag-cbor (by DagCBOR), which DagCBOR copies as it is
// into the encoding of a value holding it.
type Encoded []byte

// DagCBOR encodes a JSON value (map[string]any, []any, string, json.Number, float64,
// int64, bool or nil, and Encoded) as deterministic dag-cbor.
func DagCBOR(v any) ([]byte, error) {
	return appendValue(nil, v, 0)
}

func appendHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= math.MaxUint8:
		return append(b, m|24, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, m|25), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, m|27), n)
}

// AppendMapHead appends the head of a dag-cbor map of n entries; the caller appends the n keys
// and values after it, keys in dag-cbor order (shorter first, then bytewise) and unique.
func AppendMapHead(b []byte, n int) []byte { return appendHead(b, 5, uint64(n)) }

// AppendListHead appends the head of a dag-cbor list of n values; the caller appends them.
func AppendListHead(b []byte, n int) []byte { return appendHead(b, 4, uint64(n)) }

// AppendString appends the dag-cbor encoding of a string.
func AppendString(b []byte, s string) []byte { return append(appendHead(b, 3, uint64(len(s))), s...) }

func appendInt(b []byte, i int64) []byte {
	if i >= 0 {
		return appendHead(b, 0, uint64(i))
	}
	return appendHead(b, 1, uint64(-(i + 1)))
}

// maxSafe is the largest integer a JavaScript number holds exactly.
const maxSafe = 1<<53 - 1

func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, f)
	}
	// JavaScript has one number type: an integral value is encoded as an integer.
	if f == math.Trunc(f) && math.Abs(f) <= maxSafe {
		return appendInt(b, int64(f)), nil
	}
	return binary.BigEndian.AppendUint64(append(b, 0xfb), math.Float64bits(f)), nil
}

func appendNumber(b []byte, n json.Number) ([]byte, error) {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			if i > maxSafe || i < -maxSafe {
				return nil, fmt.Errorf("%w: integer %s beyond 2^53", ErrUnsupported, s)
			}
			return appendInt(b, i), nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: number %q", ErrUnsupported, s)
	}
	return appendFloat(b, f)
}

func appendValue(b []byte, v any, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d", ErrUnsupported, MaxDepth)
	}
	switch x := v.(type) {
	case nil:
		return append(b, 0xf6), nil
	case Encoded:
		return append(b, x...), nil
	case bool:
		if x {
			return append(b, 0xf5), nil
		}
		return append(b, 0xf4), nil
	case string:
		return append(appendHead(b, 3, uint64(len(x))), x...), nil
	case json.Number:
		return appendNumber(b, x)
	case float64:
		return appendFloat(b, x)
	case int64:
		if x > maxSafe || x < -maxSafe {
			return nil, fmt.Errorf("%w: integer %d beyond 2^53", ErrUnsupported, x)
		}
		return appendInt(b, x), nil
	case int:
		return appendValue(b, int64(x), depth)
	case []any:
		b = appendHead(b, 4, uint64(len(x)))
		var err error
		for _, e := range x {
			if b, err = appendValue(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, c string) int {
			if len(a) != len(c) {
				return len(a) - len(c)
			}
			return strings.Compare(a, c)
		})
		b = appendHead(b, 5, uint64(len(x)))
		var err error
		for _, k := range keys {
			b = append(appendHead(b, 3, uint64(len(k))), k...)
			if b, err = appendValue(b, x[k], depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	return nil, fmt.Errorf("%w: %T", ErrUnsupported, v)
}

// DataCID returns the CID the UnixFS importer gives data with CIDv1 defaults.
func DataCID(data []byte) string {
	if len(data) <= ChunkSize {
		return CID(CodecRaw, data)
	}
	level := make([]node, 0, (len(data)+ChunkSize-1)/ChunkSize)
	for off := 0; off < len(data); off += ChunkSize {
		chunk := data[off:min(off+ChunkSize, len(data))]
		d := sha256.Sum256(chunk)
		level = append(level, node{cid: cidBytes(CodecRaw, d[:]), tsize: uint64(len(chunk)), fileSize: uint64(len(chunk))})
	}
	for {
		next := make([]node, 0, (len(level)+MaxChildrenPerNode-1)/MaxChildrenPerNode)
		for i := 0; i < len(level); i += MaxChildrenPerNode {
			next = append(next, parent(level[i:min(i+MaxChildrenPerNode, len(level))]))
		}
		if len(next) == 1 {
			return "b" + strings.ToLower(b32.EncodeToString(next[0].cid))
		}
		level = next
	}
}

// node is a block of the UnixFS DAG: its CID, its cumulative size (the block and everything
// under it) and the number of file bytes under it.
type node struct {
	cid      []byte
	tsize    uint64
	fileSize uint64
}

// parent builds the dag-pb node linking children: PBNode{Links, Data: UnixFS{Type: File,
// filesize, blocksizes}}, links first as dag-pb's canonical form requires.
func parent(children []node) node {
	var fileSize uint64
	for _, c := range children {
		fileSize += c.fileSize
	}
	unixfs := appendTag(nil, 1, 0)
	unixfs = binary.AppendUvarint(unixfs, 2) // File
	unixfs = binary.AppendUvarint(appendTag(unixfs, 3, 0), fileSize)
	for _, c := range children {
		unixfs = binary.AppendUvarint(appendTag(unixfs, 4, 0), c.fileSize)
	}
	var block []byte
	tsize := uint64(0)
	for _, c := range children {
		link := appendBytes(nil, 1, c.cid)
		link = appendBytes(link, 2, nil) // Name: ""
		link = binary.AppendUvarint(appendTag(link, 3, 0), c.tsize)
		block = appendBytes(block, 2, link)
		tsize += c.tsize
	}
	block = appendBytes(block, 1, unixfs)
	d := sha256.Sum256(block)
	return node{cid: cidBytes(CodecDagPB, d[:]), tsize: tsize + uint64(len(block)), fileSize: fileSize}
}

func appendTag(b []byte, field int, wire int) []byte {
	return binary.AppendUvarint(b, uint64(field<<3|wire))
}

func appendBytes(b []byte, field int, v []byte) []byte {
	b = binary.AppendUvarint(appendTag(b, field, 2), uint64(len(v)))
	return append(b, v...)
}
