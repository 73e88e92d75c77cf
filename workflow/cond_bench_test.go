package workflow

import (
	"context"
	"testing"
)

// BenchmarkCondition evaluates the verified payment's send condition, compiled once, against a
// run's state, with the typed-variable activation the engine uses.
func BenchmarkCondition(b *testing.B) {
	reg := &Registry{}
	for _, op := range VerifiedPaymentOperations() {
		op.Func = func(ctx context.Context, c *Call) (map[string]any, error) { return nil, nil }
		if err := reg.Register(op); err != nil {
			b.Fatal(err)
		}
	}
	p, err := compile(VerifiedPayment(), &compileEnv{ops: reg, limits: Limits{}.withDefaults(), policy: DefaultPolicy, retry: Retry{MaxAttempts: 1}})
	if err != nil {
		b.Fatal(err)
	}
	sc := &scope{input: map[string]any{"amount_sat": int64(5)}, outs: []map[string]any{
		{"sender_verified": true, "verification_score": 0.93},
		{"risk_score": 0.12},
		nil, nil,
	}}
	act := &activation{names: p.names, sc: sc}
	for _, tc := range []struct {
		name string
		cond *condition
	}{
		{"send_if", p.steps[2].cond},       // steps.verify_sender.sender_verified && steps.fraud_assessment.risk_score < (has(input.risk_threshold) ? ... : 0.7)
		{"record_if_has", p.steps[3].cond}, // has(steps.send_payment.txid)
		{"terminate_if", p.steps[0].term},  // !steps.verify_sender.sender_verified
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tc.cond.eval(act); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
