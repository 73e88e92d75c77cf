// Command multisig-dids builds a 2-of-3 Bitcoin wallet from three DIDs and spends from it.
//
// Alice publishes her Bitcoin key in her did:dht document; Bob's did:jwk and Carol's did:key
// are their Bitcoin keys. The wallet — a taproot output with a 2-of-3 OP_CHECKSIGADD leaf
// behind the MuSig2 aggregate of all three keys — is resolved from the DIDs alone, stored in
// each participant's own records store, and spent twice: once by Alice and Carol through the
// script path, once by all three through the MuSig2 key path. Each participant signs with its
// own key, reading the wallet from its own store.
//
// Everything runs in process: an embedded chain (simchain), an in-process did:dht gateway and
// one records store per participant.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/bridge/didbtc"
	"github.com/anya-org/anya-go/bridge/multisig"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/diddht"
	"github.com/anya-org/anya-go/web5/did/didjwk"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/jose"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// inProcess serves HTTP requests with a handler, without sockets.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

func keyFrom(name string) *btcec.PrivateKey {
	k, _ := btcec.PrivKeyFromBytes(chainhash.HashB([]byte("multisig-dids " + name)))
	return k
}

// participant is one party: its DID, its Bitcoin key and its own records store.
type participant struct {
	name    string
	id      *did.BearerDID
	key     *btcec.PrivateKey
	records *bridge.Records
	node    *dwn.Node
}

func run(ctx context.Context, out io.Writer) error {
	chain, err := simchain.New()
	if err != nil {
		return err
	}
	defer chain.Close()
	gateway, err := diddht.NewGateway()
	if err != nil {
		return err
	}
	dht, err := diddht.NewClient("http://gateway.invalid", diddht.WithHTTPClient(&http.Client{Transport: inProcess{gateway}}))
	if err != nil {
		return err
	}
	resolver, err := did.NewResolver(did.WithMethods(dht, didjwk.New(), didkey.New()))
	if err != nil {
		return err
	}

	// Three identities whose documents carry their Bitcoin keys.
	var parties []*participant
	for _, name := range []string{"alice", "bob", "carol"} {
		p := &participant{name: name, key: keyFrom(name)}
		switch name {
		case "alice":
			b, err := diddht.Create(ctx, jose.NewMemoryKeyManager())
			if err != nil {
				return err
			}
			if p.id, err = didbtc.Publish(ctx, dht, b, p.key.PubKey(), bitcoin.Regtest); err != nil {
				return err
			}
		case "bob":
			if p.id, err = didbtc.NewDID(ctx, nil, p.key, "jwk"); err != nil {
				return err
			}
		case "carol":
			if p.id, err = didbtc.NewDID(ctx, nil, p.key, "key"); err != nil {
				return err
			}
		}
		if p.node, err = dwn.New(resolver); err != nil {
			return err
		}
		defer p.node.Close()
		if _, err := bridge.Setup(ctx, p.node, p.id, "", 0, nil); err != nil {
			return err
		}
		if p.records, err = bridge.NewRecords(p.node, p.id); err != nil {
			return err
		}
		parties = append(parties, p)
		fmt.Fprintf(out, "%-5s did:%s\n", name, p.id.DID.Method)
	}
	dids := []string{parties[0].id.String(), parties[1].id.String(), parties[2].id.String()}

	// The wallet, from the DIDs alone, stored with every participant.
	w, err := multisig.New(ctx, resolver, 2, dids, bitcoin.Regtest, multisig.WithKind(bitcoin.TapscriptMultisig), multisig.WithMuSig2KeyPath())
	if err != nil {
		return err
	}
	for _, p := range parties {
		if _, err := w.Save(ctx, p.records, p.id.String()); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "wallet %d-of-%d %s, stored with %d participants\n", w.Threshold(), len(w.Participants()), w.Kind(), len(parties))

	// Fund it from a miner's coin.
	miner := keyFrom("miner")
	minerAddr, _ := bitcoin.NewP2WPKH(miner.PubKey(), bitcoin.Regtest)
	if _, err := chain.Mine(101, simchain.PayTo(minerAddr.PkScript())); err != nil {
		return err
	}
	coinbase, err := mature(ctx, chain, minerAddr)
	if err != nil {
		return err
	}
	fund, err := bitcoin.CreatePSBT([]*wire.TxOut{wire.NewTxOut(100_000_000, w.Multisig().PkScript())}, coinbase, 2000, minerAddr)
	if err != nil {
		return err
	}
	if _, err := fund.Sign(miner); err != nil {
		return err
	}
	if err := fund.Finalize(); err != nil {
		return err
	}
	fundTx, err := fund.Extract()
	if err != nil {
		return err
	}
	if err := broadcastAndMine(ctx, chain, fundTx); err != nil {
		return err
	}

	// Spend 1: Alice and Carol, through the 2-of-3 script path.
	tx, err := spend(ctx, chain, w, parties, []int{0, 2}, false, minerAddr, 30_000_000)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "alice+carol spent through the script path: %d witness items\n", len(tx.TxIn[0].Witness))

	// Spend 2: all three, through the MuSig2 key path (the change came back to the wallet).
	tx, err = spend(ctx, chain, w, parties, []int{0, 1, 2}, true, minerAddr, 20_000_000)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "all three spent through the MuSig2 key path: %d witness item\n", len(tx.TxIn[0].Witness))
	utxos, _ := chain.UTXOs(ctx, w.Multisig().PkScript())
	var left int64
	for _, u := range utxos {
		left += int64(u.Value)
	}
	fmt.Fprintf(out, "wallet balance: %d sat in %d coin\n", left, len(utxos))
	return nil
}

// mature returns the mature coinbase coins paying addr.
func mature(ctx context.Context, chain *simchain.Chain, addr bitcoin.Address) ([]bitcoin.Coin, error) {
	utxos, err := chain.UTXOs(ctx, addr.PkScript())
	if err != nil {
		return nil, err
	}
	var coins []bitcoin.Coin
	for _, u := range utxos {
		if u.Height > 0 && chain.Tip().Height-u.Height+1 >= 100 {
			coins = append(coins, u.Coin())
		}
	}
	return coins, nil
}

func broadcastAndMine(ctx context.Context, chain *simchain.Chain, tx *wire.MsgTx) error {
	if _, err := bitcoin.Broadcast(ctx, chain, tx); err != nil {
		return err
	}
	_, err := chain.Mine(1)
	return err
}

// spend pays amount to payee from the wallet's coins, with change back to the wallet, signed
// by the participants at signers, each reading the wallet from its own store.
func spend(ctx context.Context, chain *simchain.Chain, w *multisig.Wallet, parties []*participant, signers []int, keyPath bool, payee bitcoin.Address, amount int64) (*wire.MsgTx, error) {
	utxos, err := chain.UTXOs(ctx, w.Multisig().PkScript())
	if err != nil {
		return nil, err
	}
	var coins []bitcoin.Coin
	for _, u := range utxos {
		coins = append(coins, w.Coin(u))
	}
	unsigned, err := bitcoin.CreatePSBT([]*wire.TxOut{wire.NewTxOut(amount, payee.PkScript())}, coins, 2000, w.Address())
	if err != nil {
		return nil, err
	}
	round, err := w.NewRound(unsigned)
	if err != nil {
		return nil, err
	}
	// Each participant loads the wallet from its own store and signs the PSBT's bytes.
	type signer struct {
		p *participant
		s *multisig.Signer
		c *bitcoin.PSBT
	}
	var ss []signer
	for _, i := range signers {
		p := parties[i]
		stored, err := multisig.Load(ctx, p.records, p.id.String())
		if err != nil {
			return nil, err
		}
		s, err := stored[0].Signer(p.key, nil)
		if err != nil {
			return nil, err
		}
		c, err := bitcoin.ParsePSBT(round.PSBT().Bytes())
		if err != nil {
			return nil, err
		}
		ss = append(ss, signer{p, s, c})
	}
	if keyPath {
		for _, x := range ss {
			nonces, err := x.s.Nonces(x.c)
			if err != nil {
				return nil, err
			}
			if err := round.AddNonces(x.p.id.String(), nonces); err != nil {
				return nil, err
			}
		}
		all, err := round.Nonces()
		if err != nil {
			return nil, err
		}
		for _, x := range ss {
			sigs, err := x.s.PartialSigs(x.c, all)
			if err != nil {
				return nil, err
			}
			if err := round.AddPartialSigs(x.p.id.String(), sigs); err != nil {
				return nil, err
			}
		}
	} else {
		for _, x := range ss {
			signed, err := x.s.SignPSBT(x.c)
			if err != nil {
				return nil, err
			}
			if err := round.AddSigned(x.p.id.String(), signed); err != nil {
				return nil, err
			}
		}
	}
	tx, err := round.Finish()
	if err != nil {
		return nil, err
	}
	return tx, broadcastAndMine(ctx, chain, tx)
}
