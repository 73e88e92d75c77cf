// Command link-address links a DID and a Bitcoin address both ways, follows the address's coins
// into the DID's records store, and revokes the link.
//
// Alice proves control of both sides — her address signs the host's challenge with BIP-322 and
// her DID signs the same challenge as a JWS — and the host issues a link credential with an
// entry in its revocation list, stores it in Alice's store and indexes it. The host then finds
// Alice from the address alone, keeps the address's UTXOs as a record in Alice's store as
// blocks arrive, and finally revokes the link: the credential stops verifying at once.
//
// Everything runs in process: an embedded chain (simchain) and one records store.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/bridge/link"
	"github.com/anya-org/anya-go/bridge/utxo"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/jose"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func keyFrom(name string) *btcec.PrivateKey {
	k, _ := btcec.PrivKeyFromBytes(chainhash.HashB([]byte("link-address " + name)))
	return k
}

func run(ctx context.Context, out io.Writer) error {
	chain, err := simchain.New()
	if err != nil {
		return err
	}
	defer chain.Close()
	resolver, err := did.NewResolver(did.WithMethods(didkey.New()))
	if err != nil {
		return err
	}
	node, err := dwn.New(resolver)
	if err != nil {
		return err
	}
	defer node.Close()

	// The host and Alice; Alice lets the host keep the bridges' records in her store.
	host, err := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	if err != nil {
		return err
	}
	alice, err := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	if err != nil {
		return err
	}
	if _, err := bridge.Setup(ctx, node, host, "", 0, nil); err != nil {
		return err
	}
	grants, err := bridge.Setup(ctx, node, alice, host.String(), 0, nil)
	if err != nil {
		return err
	}
	var book bridge.GrantBook
	book.Add(alice.String(), grants)
	records, err := bridge.NewRecords(node, host, bridge.WithGrants(book.Lookup))
	if err != nil {
		return err
	}
	linker, err := link.New(ctx, host, resolver, records, bitcoin.Regtest)
	if err != nil {
		return err
	}

	// Alice's address, paid once already.
	key := keyFrom("alice")
	addr, _ := bitcoin.NewP2WPKH(key.PubKey(), bitcoin.Regtest)
	if _, err := chain.Mine(1, simchain.PayTo(addr.PkScript())); err != nil {
		return err
	}

	// 1. Both sides sign the host's challenge.
	ch, err := linker.Challenge(alice.String(), addr.String())
	if err != nil {
		return err
	}
	bip322, err := bitcoin.SignMessage(key, addr, ch)
	if err != nil {
		return err
	}
	signer, err := alice.Signer(ctx, did.ForRelationship(did.Authentication))
	if err != nil {
		return err
	}
	jws, err := jose.SignJWS(ctx, signer, []byte(ch))
	if err != nil {
		return err
	}
	lk, err := linker.Link(ctx, link.Proof{DID: alice.String(), Address: addr.String(), Challenge: ch, BIP322: bip322, JWS: jws})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "linked: proved by the address (BIP-322) and by %s (JWS)\n", lk.Method[len(lk.DID):])

	// 2. From the address alone, the host finds Alice and how she linked it.
	for _, m := range linker.Index().Lookup(addr.String()) {
		fmt.Fprintf(out, "address → %s (linked at %s, revocation entry %d)\n", short(m.DID), m.LinkedAt.Format("2006-01-02"), m.StatusIndex)
	}

	// 3. The address's UTXOs live in Alice's store and follow the blocks.
	coins, err := utxo.New(chain, records)
	if err != nil {
		return err
	}
	if err := coins.Track(ctx, alice.String(), addr); err != nil {
		return err
	}
	s, _ := coins.Set(alice.String(), addr)
	fmt.Fprintf(out, "UTXO record: %d coin(s), %d sat\n", len(s.UTXOs), int64(s.Balance()))
	hashes, err := chain.Mine(1, simchain.PayTo(addr.PkScript()))
	if err != nil {
		return err
	}
	hdr, _ := chain.BlockHeader(ctx, hashes[0])
	if err := coins.Apply(ctx, bitcoin.BlockConnected{Height: chain.Tip().Height, Hash: hashes[0], Header: hdr}); err != nil {
		return err
	}
	s, _ = coins.Set(alice.String(), addr)
	fmt.Fprintf(out, "after block %d: %d coin(s), %d sat\n", chain.Tip().Height, len(s.UTXOs), int64(s.Balance()))
	// ... and a reorg takes the block back.
	if err := coins.Apply(ctx, bitcoin.BlockDisconnected{Height: chain.Tip().Height, Hash: hashes[0], Header: hdr}); err != nil {
		return err
	}
	s, _ = coins.Set(alice.String(), addr)
	fmt.Fprintf(out, "after the block is disconnected: %d coin(s)\n", len(s.UTXOs))

	// 4. Revocation: the credential stops verifying at once; the index forgets the link.
	if _, err := linker.Verify(ctx, lk.Credential, alice.String(), addr.String()); err != nil {
		return err
	}
	if err := linker.Revoke(ctx, alice.String(), addr.String()); err != nil {
		return err
	}
	_, err = linker.Verify(ctx, lk.Credential, alice.String(), addr.String())
	fmt.Fprintf(out, "after revocation: verify fails as revoked: %v; address → %d DID(s)\n", errors.Is(err, link.ErrRevoked), len(linker.Index().DIDs(addr.String())))
	return nil
}

func short(d string) string { return d[:16] + "…" }
