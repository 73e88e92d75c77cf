package console_test

import (
	"net/http"
	"testing"
)

// TestPages: every page of a console over the demo's Manager answers 200 and shows what an
// operator looks for.
func TestPages(t *testing.T) {
	f := demo(t)
	srv, _ := serve(t, f)
	for _, tc := range []struct {
		path  string
		wants []string
	}{
		{"/ops/", []string{"Recent payments", "order-1", "order-2", "order-3", "risk_above_threshold", "Audit chain: intact"}},
		{"/ops/payments", []string{`data-payment="order-1" data-outcome="sent"`, `data-payment="order-2" data-outcome="blocked"`}},
		{"/ops/payments?outcome=blocked", []string{"order-2"}},
		{"/ops/runs", []string{"verified_payment", "terminated"}},
		{"/ops/runs/order-2", []string{"fraud_assessment", "Not sent", "risk_above_threshold"}},
		{"/ops/alerts", []string{"order-2"}},
		{"/ops/audit", []string{"Audit chain: intact", "crossing"}},
		{"/ops/breakers", []string{"bitcoin", "closed"}},
		{"/ops/models", []string{"fraud@1", "reputation@1", "plot.png"}},
		{"/ops/models/fraud/1/plot.png", []string{"PNG"}},
		{"/ops/health", []string{"Healthy", "fraud@1"}},
		{"/ops/health.json", []string{`"OK": true`}},
		{"/ops/live", []string{"Live events"}},
		{"/ops/static/console.js", []string{"EventSource"}},
	} {
		resp, body := get(t, srv, tc.path, true)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %s\n%s", tc.path, resp.Status, body)
			continue
		}
		contains(t, body, tc.wants...)
	}
}
