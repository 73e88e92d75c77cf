package diddht

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/anya-org/anya-go/web5/jose"
)

// Message is a BEP44 mutable item as the gateway API carries it: the signature, the
// sequence number and the value (a DNS packet).
type Message struct {
	Sig [ed25519.SignatureSize]byte
	Seq int64 // Unix time in seconds
	V   []byte
}

// Signable returns the bytes BEP44 signs: the bencoded dictionary {seq, v} without its
// outer "d" and "e", that is "3:seqi<seq>e1:v<len(v)>:<v>".
func Signable(seq int64, v []byte) []byte {
	var b bytes.Buffer
	b.Grow(32 + len(v))
	b.WriteString("3:seqi")
	b.WriteString(strconv.FormatInt(seq, 10))
	b.WriteString("e1:v")
	b.WriteString(strconv.Itoa(len(v)))
	b.WriteByte(':')
	b.Write(v)
	return b.Bytes()
}

// SignMessage signs v with sequence number seq using signer, which must be the identity
// key (an Ed25519 signer).
func SignMessage(ctx context.Context, signer jose.Signer, seq int64, v []byte) (*Message, error) {
	if len(v) > MaxPacketSize {
		return nil, ErrTooLarge
	}
	if seq < 0 {
		return nil, fmt.Errorf("%w: negative sequence number", ErrInvalidMessage)
	}
	if signer.Algorithm() != jose.AlgEdDSA {
		return nil, fmt.Errorf("%w: BEP44 items are signed with Ed25519, not %s", ErrInvalidMessage, signer.Algorithm())
	}
	sig, err := signer.Sign(ctx, Signable(seq, v))
	if err != nil {
		return nil, err
	}
	if len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: signature of %d bytes", ErrInvalidMessage, len(sig))
	}
	m := &Message{Seq: seq, V: append([]byte(nil), v...)}
	copy(m.Sig[:], sig)
	return m, nil
}

// Verify checks the signature with the identity key.
func (m *Message) Verify(identity ed25519.PublicKey) error {
	if len(identity) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: identity key of %d bytes", ErrInvalidSignature, len(identity))
	}
	if !ed25519.Verify(identity, Signable(m.Seq, m.V), m.Sig[:]) {
		return ErrInvalidSignature
	}
	return nil
}

// MarshalBinary returns sig || seq (8 bytes, big-endian) || v.
func (m *Message) MarshalBinary() ([]byte, error) {
	out := make([]byte, 0, 72+len(m.V))
	out = append(out, m.Sig[:]...)
	out = binary.BigEndian.AppendUint64(out, uint64(m.Seq))
	return append(out, m.V...), nil
}

// ParseMessage reads sig || seq || v. It does not verify the signature.
func ParseMessage(b []byte) (*Message, error) {
	if len(b) < 72 {
		return nil, fmt.Errorf("%w: %d bytes is shorter than signature and sequence number", ErrInvalidMessage, len(b))
	}
	if len(b)-72 > MaxPacketSize {
		return nil, fmt.Errorf("%w: value of %d bytes", ErrTooLarge, len(b)-72)
	}
	seq := binary.BigEndian.Uint64(b[64:72])
	if seq > 1<<62 {
		return nil, fmt.Errorf("%w: sequence number out of range", ErrInvalidMessage)
	}
	m := &Message{Seq: int64(seq), V: append([]byte(nil), b[72:]...)}
	copy(m.Sig[:], b[:64])
	return m, nil
}
