package bitcoin

import (
	"crypto/sha256"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/txscript"
)

// scriptClass is the shape of an output script, decided from its bytes alone.
type scriptClass uint8

const (
	classNonStandard scriptClass = iota
	classP2PKH
	classP2SH
	classP2WPKH
	classP2WSH
	classP2TR
	classWitnessUnknown
	classOpReturn
	classP2PK
	classMultisig
	numScriptClasses
)

// classify decides a script's class by byte pattern. It never allocates; it is on the
// feature-extraction hot path.
func classify(pk []byte) scriptClass {
	n := len(pk)
	switch {
	case n == 25 && pk[0] == txscript.OP_DUP && pk[1] == txscript.OP_HASH160 &&
		pk[2] == 20 && pk[23] == txscript.OP_EQUALVERIFY && pk[24] == txscript.OP_CHECKSIG:
		return classP2PKH
	case n == 23 && pk[0] == txscript.OP_HASH160 && pk[1] == 20 && pk[22] == txscript.OP_EQUAL:
		return classP2SH
	case n == 22 && pk[0] == txscript.OP_0 && pk[1] == 20:
		return classP2WPKH
	case n == 34 && pk[0] == txscript.OP_0 && pk[1] == 32:
		return classP2WSH
	case n == 34 && pk[0] == txscript.OP_1 && pk[1] == 32:
		return classP2TR
	case n >= 4 && n <= 42 && pk[0] >= txscript.OP_1 && pk[0] <= txscript.OP_16 && int(pk[1]) == n-2:
		return classWitnessUnknown
	case n >= 1 && pk[0] == txscript.OP_RETURN:
		return classOpReturn
	case (n == 35 && pk[0] == 33 || n == 67 && pk[0] == 65) && pk[n-1] == txscript.OP_CHECKSIG:
		return classP2PK
	case n >= 37 && pk[n-1] == txscript.OP_CHECKMULTISIG:
		return classMultisig
	}
	return classNonStandard
}

// witnessProgram returns the version and program of a segwit output script.
func witnessProgram(pk []byte) (version byte, program []byte, ok bool) {
	n := len(pk)
	if n < 4 || n > 42 || int(pk[1]) != n-2 {
		return 0, nil, false
	}
	switch {
	case pk[0] == txscript.OP_0:
		if n != 22 && n != 34 {
			return 0, nil, false
		}
		return 0, pk[2:], true
	case pk[0] >= txscript.OP_1 && pk[0] <= txscript.OP_16:
		return pk[0] - txscript.OP_1 + 1, pk[2:], true
	}
	return 0, nil, false
}

func p2pkhScript(hash []byte) []byte {
	s := make([]byte, 0, 25)
	s = append(s, txscript.OP_DUP, txscript.OP_HASH160, 20)
	s = append(s, hash...)
	return append(s, txscript.OP_EQUALVERIFY, txscript.OP_CHECKSIG)
}

func p2shScript(hash []byte) []byte {
	s := make([]byte, 0, 23)
	s = append(s, txscript.OP_HASH160, 20)
	s = append(s, hash...)
	return append(s, txscript.OP_EQUAL)
}

func witnessScript(version byte, program []byte) []byte {
	s := make([]byte, 0, 2+len(program))
	op := byte(txscript.OP_0)
	if version > 0 {
		op = txscript.OP_1 + version - 1
	}
	s = append(s, op, byte(len(program)))
	return append(s, program...)
}

func p2wpkhScript(hash []byte) []byte { return witnessScript(0, hash) }

func p2wshScript(ws []byte) []byte {
	h := sha256.Sum256(ws)
	return witnessScript(0, h[:])
}

func hash160(b []byte) []byte { return btcutil.Hash160(b) }

// scriptPushes returns the data pushes of a push-only script, or ok=false when the script
// has other opcodes or does not parse.
func scriptPushes(script []byte) (pushes [][]byte, ok bool) {
	tok := txscript.MakeScriptTokenizer(0, script)
	for tok.Next() {
		op := tok.Opcode()
		switch {
		case op == txscript.OP_0:
			pushes = append(pushes, nil)
		case op <= txscript.OP_PUSHDATA4:
			pushes = append(pushes, tok.Data())
		case op == txscript.OP_1NEGATE || (op >= txscript.OP_1 && op <= txscript.OP_16):
			pushes = append(pushes, []byte{op})
		default:
			return nil, false
		}
	}
	return pushes, tok.Err() == nil
}
