package workflow_test

import (
	"context"
	"fmt"

	"github.com/anya-org/anya-go/workflow"
)

// greetOps registers two small operations for the examples.
func greetOps() *workflow.Registry {
	reg, err := workflow.NewRegistry(
		workflow.Operation{Name: "web5.lookup", Outputs: map[string]workflow.Type{"name": workflow.TypeString, "trusted": workflow.TypeBoolean},
			Func: func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
				return map[string]any{"name": "Alice", "trusted": c.Input["did"] == "did:example:alice"}, nil
			}},
		workflow.Operation{Name: "ml.greet", Outputs: map[string]workflow.Type{"text": workflow.TypeString},
			Func: func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
				return map[string]any{"text": fmt.Sprintf("hello, %s", c.Input["who"])}, nil
			}},
	)
	if err != nil {
		panic(err)
	}
	return reg
}

const greetJSON = `{
  "name": "greet",
  "inputs": {"did": {"type": "string", "required": true}},
  "steps": [
    {"id": "lookup", "operation": "web5.lookup", "input": {"did": "{{input.did}}"}},
    {"id": "greet", "operation": "ml.greet", "if": "steps.lookup.trusted",
     "input": {"who": "{{steps.lookup.name}}"}}
  ],
  "output": {"greeting": "{{steps.greet.text}}"}
}`

// A workflow defined in JSON, run on an in-memory store.
func Example() {
	ctx := context.Background()
	def, err := workflow.Parse([]byte(greetJSON))
	if err != nil {
		panic(err)
	}
	e, _ := workflow.New(workflow.NewMemoryStore(), greetOps())
	if err := e.Register(def); err != nil {
		panic(err)
	}
	res, err := e.Run(ctx, "greet", "run-1", map[string]any{"did": "did:example:alice"})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Status, res.Output["greeting"])
	res, _ = e.Run(ctx, "greet", "run-2", map[string]any{"did": "did:example:mallory"})
	fmt.Println(res.Status, res.Step("greet").Status, res.Output["greeting"])
	// Output:
	// completed hello, Alice
	// completed skipped <nil>
}

// The same workflow as a Go value.
func ExampleDefinition() {
	def := &workflow.Definition{
		Name:   "greet",
		Inputs: map[string]workflow.Field{"did": {Type: workflow.TypeString, Required: true}},
		Steps: []workflow.Step{
			{ID: "lookup", Operation: "web5.lookup", Input: map[string]any{"did": "{{input.did}}"}},
			{ID: "greet", Operation: "ml.greet", If: "steps.lookup.trusted", Input: map[string]any{"who": "{{steps.lookup.name}}"}},
		},
		Output: map[string]any{"greeting": "{{steps.greet.text}}"},
	}
	e, _ := workflow.New(workflow.NewMemoryStore(), greetOps())
	if err := e.Register(def); err != nil {
		panic(err)
	}
	res, _ := e.Run(context.Background(), "greet", "run-1", map[string]any{"did": "did:example:alice"})
	fmt.Println(res.Output["greeting"])
	// Output: hello, Alice
}

// Validation reports every problem at once, with positions.
func ExampleValidate() {
	def, _ := workflow.Parse([]byte(`name: broken
steps:
  - id: greet
    operation: ml.greet
    input: {who: "{{steps.lookup.name}}"}
  - id: lookup
    operation: web5.lookup
    if: steps.lookup.trusted > 1
`))
	fmt.Println(workflow.Validate(def, greetOps()))
	// Output:
	// workflow: invalid definition "broken": 2 problem(s)
	// 	5:18: steps[0].input.who: {{steps.lookup.name}}: step "lookup" does not precede step "greet" (order)
	// 	8:9: steps[1].if: column 22: found no matching overload for '_>_' applied to '(bool, int)' (cel)
}

// An exactly-once side effect: the operation records what it is about to do before doing it, and
// on a later call completes the recorded effect instead of starting a new one.
func ExampleCall_SaveIntent() {
	ledger := map[string]int{} // the outside world: txid -> times seen
	send := func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
		var intent struct{ Txid string }
		found, err := c.LoadIntent(ctx, &intent)
		if err != nil {
			return nil, err
		}
		if !found {
			intent.Txid = fmt.Sprintf("tx-for-%s", c.IdempotencyKey) // build and sign here
			if err := c.SaveIntent(ctx, intent); err != nil {
				return nil, err
			}
		}
		ledger[intent.Txid]++ // broadcast: the network ignores a transaction it already has
		if c.Attempt == 1 {
			return nil, fmt.Errorf("connection lost after broadcasting")
		}
		return map[string]any{"txid": intent.Txid}, nil
	}
	reg, _ := workflow.NewRegistry(workflow.Operation{Name: "bitcoin.send", Func: send})
	e, _ := workflow.New(workflow.NewMemoryStore(), reg)
	_ = e.Register(&workflow.Definition{Name: "pay", Steps: []workflow.Step{
		{ID: "send", Operation: "bitcoin.send", Retry: &workflow.Retry{MaxAttempts: 3, Backoff: workflow.Duration(1)}},
	}})
	res, _ := e.Run(context.Background(), "pay", "p-1", nil)
	fmt.Println(res.Status, res.Step("send").Attempt, ledger)
	// Output: completed 2 map[tx-for-p-1/send:2]
}

// New and OpenSQLiteStore take one Option type: an option given to the constructor it does not
// configure is refused by name, as is an invalid value. An Engine that New did not make refuses
// calls, naming New.
func ExampleOptionError() {
	_, err := workflow.New(workflow.NewMemoryStore(), greetOps(), workflow.WithFullSync())
	fmt.Println(err)
	_, err = workflow.New(workflow.NewMemoryStore(), greetOps(), workflow.WithResumeConcurrency(0))
	fmt.Println(err)

	var e workflow.Engine
	_, err = e.Run(context.Background(), "greet", "run-1", nil)
	fmt.Println(err)
	// Output:
	// workflow: invalid option WithFullSync: does not apply to Engine (it configures a SQLiteStore)
	// workflow: invalid option WithResumeConcurrency = 0: must be at least 1
	// workflow: a zero Engine is not usable: create it with workflow.New
}
