package anchor

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// Tags of the commitment's tagged hashes (BIP-340 style: SHA256(SHA256(tag)||SHA256(tag)||x)),
// one per role, so a leaf can never be read as a node or a root.
const (
	TagLeaf = "anya/anchor/leaf"
	TagNode = "anya/anchor/node"
	TagRoot = "anya/anchor/root"
)

// Limits on a commitment.
const (
	MaxLeaves = 1 << 20
	MaxCIDLen = 512
)

// Hash is a 32-byte hash of the commitment.
type Hash [32]byte

// String returns the hash in hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText writes hex.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText reads hex.
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) != 64 {
		return fmt.Errorf("%w: a hash is 64 hex characters", ErrInvalidProof)
	}
	if _, err := hex.Decode(h[:], b); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidProof, err)
	}
	return nil
}

func tagged(tag string, parts ...[]byte) Hash {
	return Hash(*chainhash.TaggedHash([]byte(tag), parts...))
}

// LeafHash is the leaf of a record CID: TaggedHash(TagLeaf, cid).
func LeafHash(cid string) Hash { return tagged(TagLeaf, []byte(cid)) }

func nodeHash(l, r Hash) Hash { return tagged(TagNode, l[:], r[:]) }

func rootHash(count int, tree Hash) Hash {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(count))
	return tagged(TagRoot, n[:], tree[:])
}

// Commitment is a Merkle commitment to a set of record CIDs. Its leaves are the CIDs' leaf
// hashes, deduplicated and sorted ascending, so the same set always gives the same root
// whatever the order it was given in, and absence can be proved. Each level pairs nodes left
// to right (TaggedHash(TagNode, left||right)); an odd last node moves up unchanged, never
// paired with itself. The root binds the leaf count: TaggedHash(TagRoot, count as 8 bytes
// big-endian || tree root).
type Commitment struct {
	leaves []Hash
	levels [][]Hash
	root   Hash
}

// Commit returns the commitment to cids (at least one, at most MaxLeaves, each non-empty and
// at most MaxCIDLen bytes; duplicates count once).
func Commit(cids []string) (*Commitment, error) {
	if len(cids) == 0 || len(cids) > MaxLeaves {
		return nil, fmt.Errorf("%w: %d CIDs (1 to %d)", ErrInvalidArgument, len(cids), MaxLeaves)
	}
	leaves := make([]Hash, 0, len(cids))
	for _, c := range cids {
		if c == "" || len(c) > MaxCIDLen {
			return nil, fmt.Errorf("%w: a CID is empty or longer than %d bytes", ErrInvalidArgument, MaxCIDLen)
		}
		leaves = append(leaves, LeafHash(c))
	}
	return fromLeaves(leaves), nil
}

func fromLeaves(leaves []Hash) *Commitment {
	slices.SortFunc(leaves, func(a, b Hash) int { return bytes.Compare(a[:], b[:]) })
	leaves = slices.Compact(leaves)
	c := &Commitment{leaves: leaves}
	level := leaves
	c.levels = append(c.levels, level)
	for len(level) > 1 {
		next := make([]Hash, 0, (len(level)+1)/2)
		for i := 0; i < len(level); i += 2 {
			if i+1 < len(level) {
				next = append(next, nodeHash(level[i], level[i+1]))
			} else {
				next = append(next, level[i])
			}
		}
		c.levels = append(c.levels, next)
		level = next
	}
	c.root = rootHash(len(leaves), level[0])
	return c
}

// Root returns the commitment's root, the 32 bytes a transaction carries.
func (c *Commitment) Root() Hash { return c.root }

// Len returns the number of distinct leaves.
func (c *Commitment) Len() int { return len(c.leaves) }

// Leaves returns the sorted leaf hashes.
func (c *Commitment) Leaves() []Hash { return slices.Clone(c.leaves) }

func (c *Commitment) find(h Hash) (int, bool) {
	i := sort.Search(len(c.leaves), func(i int) bool { return bytes.Compare(c.leaves[i][:], h[:]) >= 0 })
	return i, i < len(c.leaves) && c.leaves[i] == h
}

// Proof proves that a leaf sits at Index among Count leaves under a root.
type Proof struct {
	Leaf     Hash   `json:"leaf"`
	Index    int    `json:"index"`
	Count    int    `json:"count"`
	Siblings []Hash `json:"siblings"`
}

func (c *Commitment) proof(i int) Proof {
	p := Proof{Leaf: c.leaves[i], Index: i, Count: len(c.leaves)}
	for _, level := range c.levels[:len(c.levels)-1] {
		switch {
		case i%2 == 1:
			p.Siblings = append(p.Siblings, level[i-1])
		case i+1 < len(level):
			p.Siblings = append(p.Siblings, level[i+1])
		}
		i /= 2
	}
	return p
}

// Prove returns the inclusion proof of cid, or ErrNotCommitted.
func (c *Commitment) Prove(cid string) (Proof, error) {
	i, ok := c.find(LeafHash(cid))
	if !ok {
		return Proof{}, fmt.Errorf("%w: %s", ErrNotCommitted, cid)
	}
	return c.proof(i), nil
}

// root recomputes the root the proof leads to, or ok=false when its shape does not fit Count.
func (p Proof) root() (Hash, bool) {
	if p.Count < 1 || p.Count > MaxLeaves || p.Index < 0 || p.Index >= p.Count {
		return Hash{}, false
	}
	h, i, n, used := p.Leaf, p.Index, p.Count, 0
	for n > 1 {
		switch {
		case i%2 == 1:
			if used >= len(p.Siblings) {
				return Hash{}, false
			}
			h = nodeHash(p.Siblings[used], h)
			used++
		case i+1 < n:
			if used >= len(p.Siblings) {
				return Hash{}, false
			}
			h = nodeHash(h, p.Siblings[used])
			used++
		}
		i, n = i/2, (n+1)/2
	}
	if used != len(p.Siblings) {
		return Hash{}, false
	}
	return rootHash(p.Count, h), true
}

// Verify reports whether the proof shows cid committed under root.
func (p Proof) Verify(root Hash, cid string) bool {
	if p.Leaf != LeafHash(cid) {
		return false
	}
	r, ok := p.root()
	return ok && r == root
}

// AbsenceProof proves that a CID is not committed: the leaves on either side of where its
// leaf hash would sort (Left nil when it would come first, Right nil when last).
type AbsenceProof struct {
	Left  *Proof `json:"left,omitempty"`
	Right *Proof `json:"right,omitempty"`
}

// ProveAbsent returns the absence proof of cid, or ErrCommitted when it is committed.
func (c *Commitment) ProveAbsent(cid string) (AbsenceProof, error) {
	i, ok := c.find(LeafHash(cid))
	if ok {
		return AbsenceProof{}, fmt.Errorf("%w: %s", ErrCommitted, cid)
	}
	var a AbsenceProof
	if i > 0 {
		p := c.proof(i - 1)
		a.Left = &p
	}
	if i < len(c.leaves) {
		p := c.proof(i)
		a.Right = &p
	}
	return a, nil
}

// Verify reports whether the proof shows cid absent from the commitment under root.
func (a AbsenceProof) Verify(root Hash, cid string) bool {
	h := LeafHash(cid)
	check := func(p *Proof) bool {
		r, ok := p.root()
		return ok && r == root
	}
	switch {
	case a.Left == nil && a.Right == nil:
		return false
	case a.Left == nil:
		return check(a.Right) && a.Right.Index == 0 && bytes.Compare(h[:], a.Right.Leaf[:]) < 0
	case a.Right == nil:
		return check(a.Left) && a.Left.Index == a.Left.Count-1 && bytes.Compare(h[:], a.Left.Leaf[:]) > 0
	}
	return check(a.Left) && check(a.Right) && a.Left.Count == a.Right.Count && a.Left.Index+1 == a.Right.Index &&
		bytes.Compare(a.Left.Leaf[:], h[:]) < 0 && bytes.Compare(h[:], a.Right.Leaf[:]) < 0
}

// ParseProof decodes a JSON inclusion proof, refusing one whose shape does not fit its count.
func ParseProof(b []byte) (Proof, error) {
	var p Proof
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Proof{}, fmt.Errorf("%w: %v", ErrInvalidProof, err)
	}
	if dec.More() {
		return Proof{}, fmt.Errorf("%w: data after the proof", ErrInvalidProof)
	}
	if _, ok := p.root(); !ok {
		return Proof{}, fmt.Errorf("%w: %d siblings do not fit leaf %d of %d", ErrInvalidProof, len(p.Siblings), p.Index, p.Count)
	}
	return p, nil
}
