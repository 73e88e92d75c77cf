package anchor_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/anya-org/anya-go/bridge/anchor"
)

func cids(n int, prefix string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

func TestCommitmentProofs(t *testing.T) {
	for n := 1; n <= 33; n++ {
		in := cids(n, "bafy")
		c, err := anchor.Commit(in)
		if err != nil {
			t.Fatal(err)
		}
		// Order does not matter; duplicates count once.
		shuffled := append([]string(nil), in...)
		rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		c2, _ := anchor.Commit(append(shuffled, in[0]))
		if c2.Root() != c.Root() || c2.Len() != n {
			t.Fatalf("n=%d: root depends on order or duplicates", n)
		}
		for _, cid := range in {
			p, err := c.Prove(cid)
			if err != nil || !p.Verify(c.Root(), cid) {
				t.Fatalf("n=%d: inclusion of %s: %v", n, cid, err)
			}
			if p.Verify(c.Root(), cid+"x") {
				t.Fatalf("n=%d: proof of %s verifies another CID", n, cid)
			}
			if _, err := c.ProveAbsent(cid); !errors.Is(err, anchor.ErrCommitted) {
				t.Fatalf("n=%d: absence of a committed CID: %v", n, err)
			}
		}
		for _, cid := range cids(10, "other") {
			a, err := c.ProveAbsent(cid)
			if err != nil || !a.Verify(c.Root(), cid) {
				t.Fatalf("n=%d: absence of %s: %v", n, cid, err)
			}
			if _, err := c.Prove(cid); !errors.Is(err, anchor.ErrNotCommitted) {
				t.Fatalf("n=%d: inclusion of an absent CID: %v", n, err)
			}
		}
	}
}

// Attacks on proofs: each row changes a valid proof the way an attacker would.
func TestProofAttacks(t *testing.T) {
	in := cids(13, "rec")
	c, _ := anchor.Commit(in)
	root := c.Root()
	good, _ := c.Prove(in[4])
	other, _ := anchor.Commit(cids(13, "else"))
	flip := func(h anchor.Hash) anchor.Hash { h[0] ^= 1; return h }
	rows := []struct {
		name string
		edit func(p anchor.Proof) anchor.Proof
		cid  string
		root anchor.Hash
	}{
		{"another CID", func(p anchor.Proof) anchor.Proof { return p }, "rec-99", root},
		{"another root", func(p anchor.Proof) anchor.Proof { return p }, in[4], other.Root()},
		{"modified sibling", func(p anchor.Proof) anchor.Proof { p.Siblings[1] = flip(p.Siblings[1]); return p }, in[4], root},
		{"dropped sibling", func(p anchor.Proof) anchor.Proof { p.Siblings = p.Siblings[:len(p.Siblings)-1]; return p }, in[4], root},
		{"extra sibling", func(p anchor.Proof) anchor.Proof { p.Siblings = append(p.Siblings, p.Siblings[0]); return p }, in[4], root},
		{"other index", func(p anchor.Proof) anchor.Proof { p.Index ^= 1; return p }, in[4], root},
		{"negative index", func(p anchor.Proof) anchor.Proof { p.Index = -1; return p }, in[4], root},
		{"smaller count", func(p anchor.Proof) anchor.Proof { p.Count = 12; return p }, in[4], root},
		{"larger count", func(p anchor.Proof) anchor.Proof { p.Count = 14; return p }, in[4], root},
		{"huge count", func(p anchor.Proof) anchor.Proof { p.Count = 1 << 40; return p }, in[4], root},
		{"leaf of another CID", func(p anchor.Proof) anchor.Proof { p.Leaf = anchor.LeafHash("rec-5"); return p }, in[4], root},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			p := good
			p.Siblings = append([]anchor.Hash(nil), good.Siblings...)
			if r.edit(p).Verify(r.root, r.cid) {
				t.Fatal("the altered proof verifies")
			}
		})
	}
	// A second-preimage attempt: an inner node presented as a leaf never verifies, because
	// leaves and nodes are hashed under different tags.
	if good.Verify(root, string(good.Siblings[0][:])) {
		t.Fatal("a node verified as a CID")
	}

	// Absence proofs.
	absent := "not-there"
	a, err := c.ProveAbsent(absent)
	if err != nil {
		t.Fatal(err)
	}
	p3, _ := c.Prove(in[3])
	arows := []struct {
		name string
		a    anchor.AbsenceProof
		cid  string
	}{
		{"empty", anchor.AbsenceProof{}, absent},
		{"committed CID", a, in[0]},
		{"non-adjacent neighbours", anchor.AbsenceProof{Left: a.Left, Right: &p3}, absent},
		{"left only, not the last leaf", anchor.AbsenceProof{Left: &p3}, absent},
		{"right only, not the first leaf", anchor.AbsenceProof{Right: &p3}, absent},
	}
	for _, r := range arows {
		t.Run("absence/"+r.name, func(t *testing.T) {
			if r.a.Verify(root, r.cid) {
				t.Fatal("the altered absence proof verifies")
			}
		})
	}
}

func TestCommitRefusals(t *testing.T) {
	for name, in := range map[string][]string{
		"none":      nil,
		"empty CID": {"a", ""},
		"long CID":  {string(bytes.Repeat([]byte("x"), anchor.MaxCIDLen+1))},
	} {
		if _, err := anchor.Commit(in); !errors.Is(err, anchor.ErrInvalidArgument) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestParseProof(t *testing.T) {
	c, _ := anchor.Commit(cids(7, "p"))
	p, _ := c.Prove("p-3")
	b, _ := json.Marshal(p)
	q, err := anchor.ParseProof(b)
	if err != nil || !q.Verify(c.Root(), "p-3") {
		t.Fatalf("round trip: %v", err)
	}
	for name, in := range map[string]string{
		"not JSON":       "{",
		"unknown field":  `{"leaf":"` + p.Leaf.String() + `","index":0,"count":1,"siblings":[],"x":1}`,
		"bad hash":       `{"leaf":"zz","index":0,"count":1,"siblings":[]}`,
		"shape":          `{"leaf":"` + p.Leaf.String() + `","index":0,"count":2,"siblings":[]}`,
		"trailing data":  string(b) + "{}",
		"index past end": `{"leaf":"` + p.Leaf.String() + `","index":3,"count":2,"siblings":[]}`,
	} {
		if _, err := anchor.ParseProof([]byte(in)); !errors.Is(err, anchor.ErrInvalidProof) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzParseProof(f *testing.F) {
	c, _ := anchor.Commit(cids(9, "f"))
	p, _ := c.Prove("f-2")
	b, _ := json.Marshal(p)
	f.Add(b)
	f.Add([]byte(`{"leaf":"00","index":0,"count":1,"siblings":[]}`))
	f.Add([]byte(`{"index":-1,"count":-1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		q, err := anchor.ParseProof(data)
		if err != nil {
			return
		}
		// A proof that parses either leads to the commitment's root for f-2 or verifies nothing.
		if q.Verify(c.Root(), "f-2") && q.Leaf != p.Leaf {
			t.Fatal("a different leaf verified")
		}
	})
}
