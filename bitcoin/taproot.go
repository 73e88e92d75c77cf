package bitcoin

import (
	"encoding/hex"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
)

// tapNode is a node of a taproot script tree: a leaf or a branch of two nodes. BIP-341
// trees may be unbalanced; txscript's assembler only builds balanced ones, so the package
// keeps its own small tree for arbitrary shapes.
type tapNode struct {
	leaf        *txscript.TapLeaf
	left, right *tapNode
}

func tapLeafNode(script []byte, version txscript.TapscriptLeafVersion) *tapNode {
	l := txscript.NewTapLeaf(version, script)
	return &tapNode{leaf: &l}
}

func tapBranchNode(a, b *tapNode) *tapNode { return &tapNode{left: a, right: b} }

// hash returns the node's tagged hash (TapLeaf for leaves, TapBranch for branches).
func (n *tapNode) hash() chainhash.Hash {
	if n.leaf != nil {
		return n.leaf.TapHash()
	}
	return tapBranchHash(n.left.hash(), n.right.hash())
}

func tapBranchHash(a, b chainhash.Hash) chainhash.Hash {
	if lessHash(b, a) {
		a, b = b, a
	}
	return *chainhash.TaggedHash(chainhash.TagTapBranch, a[:], b[:])
}

func lessHash(a, b chainhash.Hash) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// leaves returns the tree's leaves depth-first, left to right, each with its merkle path
// (sibling hashes from the leaf upwards).
func (n *tapNode) leaves() []tapLeafPath {
	if n.leaf != nil {
		return []tapLeafPath{{leaf: *n.leaf}}
	}
	var out []tapLeafPath
	for _, side := range []struct{ node, sibling *tapNode }{{n.left, n.right}, {n.right, n.left}} {
		sib := side.sibling.hash()
		for _, lp := range side.node.leaves() {
			lp.path = append(lp.path, sib)
			out = append(out, lp)
		}
	}
	return out
}

type tapLeafPath struct {
	leaf txscript.TapLeaf
	path []chainhash.Hash
}

// controlBlock returns the serialized BIP-341 control block for spending this leaf of a
// tree with the given internal key.
func (lp tapLeafPath) controlBlock(internal *btcec.PublicKey, root []byte) []byte {
	out := txscript.ComputeTaprootOutputKey(internal, root)
	proof := make([]byte, 0, 32*len(lp.path))
	for _, h := range lp.path {
		proof = append(proof, h[:]...)
	}
	cb := txscript.ControlBlock{
		InternalKey:     internal,
		OutputKeyYIsOdd: out.SerializeCompressed()[0] == 0x03,
		LeafVersion:     lp.leaf.LeafVersion,
		InclusionProof:  proof,
	}
	b, _ := cb.ToBytes()
	return b
}

// numsKey returns BIP-341's provably unspendable internal key H = lift_x(0x5092…3ac0),
// used when a taproot output must have no key path.
func numsKey() *btcec.PublicKey {
	b, _ := hex.DecodeString("50929b74c1a04954b78b4b6035e97a5e078a5a0f28ec96d547bfee9ace803ac0")
	k, _ := schnorr.ParsePubKey(b)
	return k
}

// xOnly returns the 32-byte x-only serialization of pub.
func xOnly(pub *btcec.PublicKey) []byte { return schnorr.SerializePubKey(pub) }
