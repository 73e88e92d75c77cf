package handler_test

import (
	"context"
	"fmt"

	"github.com/anya-org/anya-go/bridge/handler"
	"github.com/anya-org/anya-go/internal/sqlitex"
)

// A handler asks for a side effect; dispatching the same event twice runs it once.
func Example() {
	ctx := context.Background()
	store, _ := handler.OpenStore(ctx, sqlitex.Memory)
	defer store.Close()
	d, _ := handler.New(store)
	d.Handle("bitcoin.tx", "notify", func(_ context.Context, ev handler.Event) (handler.Result, error) {
		return handler.Result{Values: map[string]any{"seen": ev.ID}, Effects: []handler.Effect{{
			Name: "email",
			Run: func(context.Context, map[string]any) (any, error) {
				fmt.Println("sending the notification")
				return "sent", nil
			},
		}}}, nil
	})
	ev := handler.Event{ID: "tx-42", Kind: "bitcoin.tx"}
	for range 2 {
		out, _ := d.Dispatch(ctx, ev)
		fmt.Println(out.Results[0].Values["seen"], out.Effects[0].Result, out.Effects[0].Repeated)
	}
	// Output:
	// sending the notification
	// tx-42 sent false
	// tx-42 sent true
}
