package multisig_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/bridge/didbtc"
	"github.com/anya-org/anya-go/bridge/multisig"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/diddht"
	"github.com/anya-org/anya-go/web5/did/didjwk"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/jose"
	"github.com/anya-org/anya-go/web5/web5test"
)

// party is one participant: its DID, its Bitcoin key and its own records store.
type party struct {
	id      *did.BearerDID
	key     *btcec.PrivateKey
	records *bridge.Records
}

// newParties makes three participants with separate stores: a did:dht that published its
// Bitcoin key, a did:jwk and a did:key whose DID key is their Bitcoin key.
func newParties(t *testing.T, net *web5test.Network) []*party {
	t.Helper()
	ctx := context.Background()
	var out []*party
	for _, method := range []string{"dht", "jwk", "key"} {
		key := bitcointest.KeyFromSeed("multisig party " + method)
		var id *did.BearerDID
		var err error
		if method == "dht" {
			b, err := diddht.Create(ctx, jose.NewMemoryKeyManager())
			if err != nil {
				t.Fatal(err)
			}
			id, err = didbtc.Publish(ctx, net.DHT, b, key.PubKey(), bitcoin.Regtest)
			if err != nil {
				t.Fatal(err)
			}
		} else if id, err = didbtc.NewDID(ctx, nil, key, method); err != nil {
			t.Fatal(err)
		}
		node, err := dwn.New(net.Resolver(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { node.Close() })
		if _, err := bridge.Setup(ctx, node, id, "", 0, nil); err != nil {
			t.Fatal(err)
		}
		r, err := bridge.NewRecords(node, id)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &party{id: id, key: key, records: r})
	}
	return out
}

func dids(ps []*party) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.id.String())
	}
	return out
}

func TestSigningRounds(t *testing.T) {
	t.Run("simchain", func(t *testing.T) { runRounds(t, bitcointest.NewSim(t)) })
	t.Run("btcd", func(t *testing.T) {
		if testing.Short() {
			t.Skip("starts btcd")
		}
		node := bitcointest.StartBtcd(t)
		if err := node.MineTo(context.Background(), bitcointest.SegwitHeight+10); err != nil {
			t.Fatal(err)
		}
		runRounds(t, node.Backend(t))
	})
}

func runRounds(t *testing.T, be bitcointest.Backend) {
	ctx := context.Background()
	net := web5test.NewNetwork(t)
	parties := newParties(t, net)
	resolver := net.Resolver(t)
	cases := []struct {
		name string
		k    int
		opts []multisig.Option
	}{
		{"sorted-p2wsh 2-of-3", 2, nil},
		{"tapscript 2-of-3", 2, []multisig.Option{multisig.WithKind(bitcoin.TapscriptMultisig)}},
		{"musig2 key path 3-of-3", 3, []multisig.Option{multisig.WithKind(bitcoin.MuSig2KeyPath)}},
		{"tapscript 2-of-3 with musig2 key path, all sign", 2, []multisig.Option{multisig.WithKind(bitcoin.TapscriptMultisig), multisig.WithMuSig2KeyPath()}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, err := multisig.New(ctx, resolver, tc.k, dids(parties), bitcoin.Regtest, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			// The wallet is stored with every participant, and each participant reads it back
			// from its own store.
			wallets := make([]*multisig.Wallet, len(parties))
			for i, p := range parties {
				if _, err := w.Save(ctx, p.records, p.id.String()); err != nil {
					t.Fatal(err)
				}
				loaded, err := multisig.Load(ctx, p.records, p.id.String())
				if err != nil {
					t.Fatal(err)
				}
				wallets[i] = loaded[len(loaded)-1]
				if wallets[i].Descriptor() != w.Descriptor() || !wallets[i].Address().Equal(w.Address()) {
					t.Fatalf("participant %d read another wallet", i)
				}
				if err := wallets[i].Verify(ctx, resolver); err != nil {
					t.Fatal(err)
				}
			}
			// Fund the wallet and spend from it.
			funder := be.Wallet()
			_, op, err := funder.Fund(ctx, w.Multisig().PkScript(), btcutil.Amount(50_000_000))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := be.Mine(ctx, 1); err != nil {
				t.Fatal(err)
			}
			utxo, err := be.Chain().TxOut(ctx, op, false)
			if err != nil {
				t.Fatal(err)
			}
			out := wire.NewTxOut(20_000_000, funder.PkScript())
			unsigned, err := bitcoin.CreatePSBT([]*wire.TxOut{out}, []bitcoin.Coin{w.Coin(utxo)}, bitcointest.DefaultWalletFeeRate, w.Address())
			if err != nil {
				t.Fatal(err)
			}
			round, err := w.NewRound(unsigned)
			if err != nil {
				t.Fatal(err)
			}
			// What travels between parties is the PSBT's bytes.
			wire64 := round.PSBT().Base64()
			signers := make([]*multisig.Signer, len(parties))
			copies := make([]*bitcoin.PSBT, len(parties))
			for i, p := range parties {
				if signers[i], err = wallets[i].Signer(p.key, nil); err != nil {
					t.Fatal(err)
				}
				if copies[i], err = bitcoin.ParsePSBT([]byte(wire64)); err != nil {
					t.Fatal(err)
				}
			}
			if w.HasMuSig2KeyPath() {
				for i, p := range parties {
					nonces, err := signers[i].Nonces(copies[i])
					if err != nil {
						t.Fatal(err)
					}
					if err := round.AddNonces(p.id.String(), nonces); err != nil {
						t.Fatal(err)
					}
				}
				all, err := round.Nonces()
				if err != nil {
					t.Fatal(err)
				}
				for i, p := range parties {
					sigs, err := signers[i].PartialSigs(copies[i], all)
					if err != nil {
						t.Fatal(err)
					}
					if err := round.AddPartialSigs(p.id.String(), sigs); err != nil {
						t.Fatal(err)
					}
				}
			} else {
				// The threshold signs: the first k participants.
				for i, p := range parties[:w.Threshold()] {
					signed, err := signers[i].SignPSBT(copies[i])
					if err != nil {
						t.Fatal(err)
					}
					if err := round.AddSigned(p.id.String(), signed); err != nil {
						t.Fatal(err)
					}
				}
			}
			tx, err := round.Finish()
			if err != nil {
				t.Fatal(err)
			}
			txid, err := bitcoin.Broadcast(ctx, be.Chain(), tx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := be.Mine(ctx, 1); err != nil {
				t.Fatal(err)
			}
			info, err := be.Chain().Tx(ctx, txid)
			if err != nil || info.Block == nil {
				t.Fatalf("spend not confirmed: %v", err)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	ctx := context.Background()
	net := web5test.NewNetwork(t)
	parties := newParties(t, net)
	resolver := net.Resolver(t)
	sim := bitcointest.NewSim(t)

	t.Run("a DID without a Bitcoin key", func(t *testing.T) {
		alice := web5test.Alice(t)
		_, err := multisig.New(ctx, resolver, 2, append(dids(parties[:2]), alice.String()), bitcoin.Regtest)
		var pe *multisig.ParticipantError
		if !errors.As(err, &pe) || pe.DID != alice.String() || !errors.Is(err, didbtc.ErrNoBitcoinKey) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("a DID that does not resolve", func(t *testing.T) {
		carol := web5test.Carol(t) // never published
		_, err := multisig.New(ctx, resolver, 2, append(dids(parties[:2]), carol.String()), bitcoin.Regtest)
		if !errors.Is(err, multisig.ErrParticipant) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("bad thresholds and lists", func(t *testing.T) {
		for name, f := range map[string]func() error{
			"k > n": func() error { _, err := multisig.New(ctx, resolver, 4, dids(parties), bitcoin.Regtest); return err },
			"k = 0": func() error { _, err := multisig.New(ctx, resolver, 0, dids(parties), bitcoin.Regtest); return err },
			"duplicate": func() error {
				_, err := multisig.New(ctx, resolver, 1, append(dids(parties), parties[0].id.String()), bitcoin.Regtest)
				return err
			},
			"empty": func() error { _, err := multisig.New(ctx, resolver, 1, nil, bitcoin.Regtest); return err },
			"musig k < n": func() error {
				_, err := multisig.New(ctx, resolver, 2, dids(parties), bitcoin.Regtest, multisig.WithKind(bitcoin.MuSig2KeyPath))
				return err
			},
			"p2wsh musig": func() error {
				_, err := multisig.New(ctx, resolver, 2, dids(parties), bitcoin.Regtest, multisig.WithMuSig2KeyPath())
				return err
			},
		} {
			if err := f(); !errors.Is(err, multisig.ErrInvalidArgument) {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
	w, err := multisig.New(ctx, resolver, 2, dids(parties), bitcoin.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a tampered record", func(t *testing.T) {
		rec := w.Record()
		other := bitcointest.KeyFromSeed("intruder")
		rec.Participants[0].PublicKey = other.PubKey()
		if _, err := multisig.FromRecord(rec); !errors.Is(err, multisig.ErrTampered) {
			t.Fatalf("swapped key: %v", err)
		}
		rec = w.Record()
		rec.Threshold = 1
		if _, err := multisig.FromRecord(rec); !errors.Is(err, multisig.ErrTampered) {
			t.Fatalf("lowered threshold: %v", err)
		}
		// A tampered record in a store is reported; the good ones still load.
		p := parties[0]
		if _, err := w.Save(ctx, p.records, p.id.String()); err != nil {
			t.Fatal(err)
		}
		bad := w.Record()
		bad.Address = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"
		raw, _ := json.Marshal(bad)
		if _, err := p.records.Create(ctx, p.id.String(), bridge.PathWallet, json.RawMessage(raw)); err != nil {
			t.Fatal(err)
		}
		got, err := multisig.Load(ctx, p.records, p.id.String())
		if !errors.Is(err, multisig.ErrTampered) || len(got) != 1 {
			t.Fatalf("load: %v, %d wallets", err, len(got))
		}
	})
	t.Run("a key that is not a participant's", func(t *testing.T) {
		if _, err := w.Signer(bitcointest.KeyFromSeed("stranger"), nil); !errors.Is(err, multisig.ErrNotParticipant) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("a PSBT that spends another address", func(t *testing.T) {
		funder := sim.Wallet()
		coins, err := funder.Spendable(ctx)
		if err != nil || len(coins) == 0 {
			t.Fatal(err)
		}
		p, err := bitcoin.CreatePSBT([]*wire.TxOut{wire.NewTxOut(10_000, w.Multisig().PkScript())}, []bitcoin.Coin{coins[0].Coin()}, bitcointest.DefaultWalletFeeRate, w.Address())
		if err != nil {
			t.Fatal(err)
		}
		s, _ := w.Signer(parties[0].key, nil)
		if _, err := s.SignPSBT(p); !errors.Is(err, multisig.ErrRound) {
			t.Fatalf("signer: %v", err)
		}
		if _, err := w.NewRound(p); !errors.Is(err, multisig.ErrRound) {
			t.Fatalf("round: %v", err)
		}
	})
	t.Run("below the threshold", func(t *testing.T) {
		_, op, err := sim.Wallet().Fund(ctx, w.Multisig().PkScript(), 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		sim.Mine(ctx, 1)
		u, err := sim.Chain().TxOut(ctx, op, false)
		if err != nil {
			t.Fatal(err)
		}
		p, err := bitcoin.CreatePSBT([]*wire.TxOut{wire.NewTxOut(500_000, sim.Wallet().PkScript())}, []bitcoin.Coin{w.Coin(u)}, bitcointest.DefaultWalletFeeRate, w.Address())
		if err != nil {
			t.Fatal(err)
		}
		round, _ := w.NewRound(p)
		s, _ := w.Signer(parties[0].key, nil)
		signed, err := s.SignPSBT(round.PSBT())
		if err != nil {
			t.Fatal(err)
		}
		if err := round.AddSigned(parties[0].id.String(), signed); err != nil {
			t.Fatal(err)
		}
		if _, err := round.Finish(); !errors.Is(err, multisig.ErrRound) {
			t.Fatalf("one signature of two: %v", err)
		}
		if err := round.AddSigned("did:example:stranger", signed); !errors.Is(err, multisig.ErrNotParticipant) {
			t.Fatalf("stranger: %v", err)
		}
	})
	t.Run("a bad partial signature names its signer", func(t *testing.T) {
		mw, err := multisig.New(ctx, resolver, 3, dids(parties), bitcoin.Regtest, multisig.WithKind(bitcoin.MuSig2KeyPath))
		if err != nil {
			t.Fatal(err)
		}
		_, op, err := sim.Wallet().Fund(ctx, mw.Multisig().PkScript(), 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		sim.Mine(ctx, 1)
		u, _ := sim.Chain().TxOut(ctx, op, false)
		p, err := bitcoin.CreatePSBT([]*wire.TxOut{wire.NewTxOut(500_000, sim.Wallet().PkScript())}, []bitcoin.Coin{mw.Coin(u)}, bitcointest.DefaultWalletFeeRate, mw.Address())
		if err != nil {
			t.Fatal(err)
		}
		round, _ := mw.NewRound(p)
		signers := map[string]*multisig.Signer{}
		// A participant replaying another's nonce is refused: a nonce is in a round once.
		first, _ := mw.Signer(parties[0].key, nil)
		replayed, err := first.Nonces(round.PSBT())
		if err != nil {
			t.Fatal(err)
		}
		replay, _ := mw.NewRound(p)
		if err := replay.AddNonces(parties[0].id.String(), replayed); err != nil {
			t.Fatal(err)
		}
		if err := replay.AddNonces(parties[1].id.String(), replayed); !errors.Is(err, multisig.ErrRound) || !errors.Is(err, bitcoin.ErrNonceReused) {
			t.Fatalf("a replayed nonce: %v", err)
		}
		for _, pt := range parties {
			s, _ := mw.Signer(pt.key, nil)
			signers[pt.id.String()] = s
			n, err := s.Nonces(round.PSBT())
			if err != nil {
				t.Fatal(err)
			}
			if err := round.AddNonces(pt.id.String(), n); err != nil {
				t.Fatal(err)
			}
		}
		all, _ := round.Nonces()
		var cheater int
		for i, pt := range mw.Participants() {
			sigs, err := signers[pt.DID].PartialSigs(round.PSBT(), all)
			if err != nil {
				t.Fatal(err)
			}
			if i == 1 {
				sigs[0][5] ^= 1
				cheater = i
			}
			if err := round.AddPartialSigs(pt.DID, sigs); err != nil {
				t.Fatal(err)
			}
		}
		_, err = round.Finish()
		var me *bitcoin.MuSig2Error
		if !errors.As(err, &me) || me.Signer != cheater {
			t.Fatalf("got %v", err)
		}
		// A session signs once: a second PartialSigs is refused.
		if _, err := signers[mw.Participants()[0].DID].PartialSigs(round.PSBT(), all); err == nil {
			t.Fatal("nonce reused")
		}
	})
}

// Stored wallet records are outside input: decoding and rebuilding them never panics, and a
// record either rebuilds to exactly what it claims or is refused.
func FuzzRecord(f *testing.F) {
	a, _ := didbtc.NewDID(context.Background(), nil, bitcointest.KeyFromSeed("fa"), "jwk")
	b, _ := didbtc.NewDID(context.Background(), nil, bitcointest.KeyFromSeed("fb"), "jwk")
	r, _ := did.NewResolver(did.WithMethods(didjwk.New()))
	for _, kind := range []bitcoin.MultisigKind{bitcoin.SortedP2WSH, bitcoin.MuSig2KeyPath, bitcoin.TapscriptMultisig} {
		w, err := multisig.New(context.Background(), r, 2, []string{a.String(), b.String()}, bitcoin.Regtest, multisig.WithKind(kind))
		if err != nil {
			f.Fatal(err)
		}
		raw, _ := json.Marshal(w.Record())
		f.Add(raw)
	}
	f.Add([]byte(`{"kind":"sorted-p2wsh","threshold":1,"participants":[{"publicKey":"zz"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var rec multisig.Record
		if err := json.Unmarshal(data, &rec); err != nil {
			return
		}
		w, err := multisig.FromRecord(rec)
		if err != nil {
			if !errors.Is(err, multisig.ErrTampered) {
				t.Fatalf("untyped %v", err)
			}
			return
		}
		if w.Address().String() != rec.Address || w.Descriptor() != rec.Descriptor {
			t.Fatal("a record rebuilt to something else")
		}
	})
}
