package analysis_test

import (
	"context"
	"fmt"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bridge/analysis"
	"github.com/anya-org/anya-go/security"
)

// A block's transactions go to an ML leg as features, through the bitcoin→ml boundary.
func Example() {
	ctx := context.Background()
	chain, _ := simchain.New()
	defer chain.Close()
	hashes, _ := chain.Mine(1)
	bounds, _ := security.New(security.DefaultBoundaries(), security.WithRedactionKey([]byte("example redaction key!")),
		security.WithProvenance("web5.signature", func(context.Context, security.Crossing) error { return nil }))
	ml := func(_ context.Context, data map[string]any) (map[string]any, error) {
		return map[string]any{"features": len(data["features"].(map[string]any))}, nil
	}
	a, _ := analysis.New(chain, bounds, bitcoin.Regtest, analysis.WithML(ml), analysis.WithCoinbase())
	res, err := a.AnalyzeBlock(ctx, bitcoin.BlockStamp{Height: 1, Hash: hashes[0]})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(res.Txs), res.Txs[0].ML.Findings["features"] == len(bitcoin.TxFeatureSchema().Names))
	// Output: 1 true
}
