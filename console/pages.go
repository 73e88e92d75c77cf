package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/resilience"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/workflow"
)

// Bounds of the pages.
const (
	// RecentPayments is how many payments the overview lists.
	RecentPayments = 10
	// MaxAuditPage bounds the audit entries one page lists.
	MaxAuditPage = 500
	// DefaultAuditPage is how many audit entries a page lists without limit.
	DefaultAuditPage = 100
	// AlertsScan is how many of the newest audit entries the alerts page searches for denied
	// crossings.
	AlertsScan = 1000
	// MaxAlerts bounds each list of the alerts page.
	MaxAlerts = 50
)

// navItem is one link of the navigation bar.
type navItem struct {
	Name, Path string
	Current    bool
}

var nav = []navItem{{"Overview", "/", false}, {"Payments", "/payments", false}, {"Runs", "/runs", false}, {"Alerts", "/alerts", false},
	{"Audit", "/audit", false}, {"Breakers", "/breakers", false}, {"Models", "/models", false}, {"Health", "/health", false},
	{"Live", "/live", false}}

// view is what every page template gets.
type view struct {
	Title  string
	Base   string
	Nav    []navItem
	Now    time.Time
	CSRF   string
	Writes bool
	Data   any
}

// parsePages parses each page with the layout.
func parsePages(funcs template.FuncMap) (map[string]*template.Template, error) {
	base, err := template.New("layout").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		page := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if page == "layout" || page == "parts" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(assets, n)
		if err != nil {
			return nil, err
		}
		pages[page] = t
	}
	return pages, nil
}

// funcs are the templates' functions.
func (h *Handler) funcs() template.FuncMap {
	return template.FuncMap{
		"path":   url.PathEscape,
		"pseud":  h.red.pseudonym,
		"redact": h.red.text,
		"json":   h.red.json,
		"time": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		},
		"dur": func(d time.Duration) string {
			if d <= 0 {
				return "—"
			}
			return d.Round(time.Microsecond).String()
		},
		"short": func(s string, n int) string { return clip(s, n) },
		"hash":  func(b [32]byte) string { return fmt.Sprintf("%x", b[:8]) },
		"sat":   func(v int64) string { return groupDigits(v) + " sat" },
		"pct":   func(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" },
		"num":   func(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) },
		"query": func(q url.Values) string { return q.Encode() },
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, errors.New("dict: odd arguments")
			}
			m := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, errors.New("dict: a key is not a string")
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
	}
}

// groupDigits writes v with thin spaces between groups of three digits.
func groupDigits(v int64) string {
	s := strconv.FormatInt(v, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString("\u202f")
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// render writes page with data, or an error page if it cannot be rendered.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, code int, page, title string, data any) {
	v := view{Title: title, Base: basePath(r), Now: h.cfg.now(), CSRF: h.csrf, Writes: h.cfg.writes != nil, Data: data}
	v.Nav = slices.Clone(nav)
	for i := range v.Nav {
		v.Nav[i].Current = v.Nav[i].Path == r.URL.Path
	}
	var buf bytes.Buffer
	if err := h.pages[page].ExecuteTemplate(&buf, "layout", v); err != nil {
		h.logError(r.Context(), page, err)
		h.plain(w, http.StatusInternalServerError, "console: the page could not be rendered")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// errorData is the error page's data.
type errorData struct {
	Code    int
	Status  string
	Message string
}

// fail answers with the error page. The message is redacted; the template escapes it.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, code int, err error) {
	if code >= 500 {
		h.logError(r.Context(), r.URL.Path, err)
	}
	h.render(w, r, code, "error", http.StatusText(code), errorData{Code: code, Status: http.StatusText(code), Message: clip(h.red.text(err.Error()), 500)})
}

// failErr answers a page whose Manager call failed: a request that ended is not answered, bad
// options are 400, what does not exist is 404, a closed Manager is 503, the rest is 500.
func (h *Handler) failErr(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case r.Context().Err() != nil:
		return // the client went away
	case errors.Is(err, anya.ErrInvalidOption), errors.Is(err, errBadQuery):
		h.fail(w, r, http.StatusBadRequest, err)
	case errors.Is(err, workflow.ErrNotFound):
		h.fail(w, r, http.StatusNotFound, err)
	case errors.Is(err, anya.ErrClosed):
		h.fail(w, r, http.StatusServiceUnavailable, err)
	default:
		h.fail(w, r, http.StatusInternalServerError, err)
	}
}

// errBadQuery is wrapped by the errors of malformed query parameters.
var errBadQuery = errors.New("console: bad query")

// queryError names a malformed query parameter.
func queryError(param, reason string) error {
	return fmt.Errorf("%w: %s: %s", errBadQuery, param, reason)
}

// readQuery checks that the query has only the parameters allowed, each once unless repeatable.
func readQuery(r *http.Request, single []string, repeatable ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, queryError("query", "malformed")
	}
	for k, vs := range q {
		switch {
		case slices.Contains(repeatable, k):
		case slices.Contains(single, k):
			if len(vs) > 1 {
				return nil, queryError(clip(k, 40), "given more than once")
			}
		default:
			return nil, queryError(clip(k, 40), "unknown parameter")
		}
	}
	return q, nil
}

// listOptions reads the list parameters of the payments and runs pages.
func listOptions(q url.Values) ([]anya.ListOption, error) {
	var opts []anya.ListOption
	for _, o := range q["outcome"] {
		if o != "" {
			opts = append(opts, anya.ListOutcome(anya.Outcome(o)))
		}
	}
	for _, s := range q["status"] {
		if s != "" {
			opts = append(opts, anya.ListStatus(workflow.RunStatus(s)))
		}
	}
	if s := q.Get("sender"); s != "" {
		opts = append(opts, anya.ListSender(s))
	}
	if s := q.Get("workflow"); s != "" {
		opts = append(opts, anya.ListWorkflow(s))
	}
	if s := q.Get("before"); s != "" {
		opts = append(opts, anya.ListBefore(s))
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, queryError("limit", "not a number")
		}
		opts = append(opts, anya.ListLimit(n))
	}
	return opts, nil
}

// limitOf is the page size a list query asks for.
func limitOf(q url.Values) int {
	if n, err := strconv.Atoi(q.Get("limit")); err == nil {
		return n
	}
	return anya.DefaultListLimit
}

// nextPage returns the query of the page after the one ending with last, or nil when the page
// was not full.
func nextPage(q url.Values, n int, last string) url.Values {
	if n < limitOf(q) || last == "" {
		return nil
	}
	next := url.Values{}
	for k, vs := range q {
		next[k] = slices.Clone(vs)
	}
	next.Set("before", last)
	return next
}

type overviewData struct {
	Health   *anya.Health
	Payments []*anya.PaymentInfo
}

func (h *Handler) overview(w http.ResponseWriter, r *http.Request) {
	if _, err := readQuery(r, nil); err != nil {
		h.failErr(w, r, err)
		return
	}
	ctx := r.Context()
	hl, err := h.m.Health(ctx)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	ps, err := h.m.Payments(ctx, anya.ListLimit(RecentPayments))
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "overview", "Overview", overviewData{Health: hl, Payments: ps})
}

// choice is one checkbox of a filter.
type choice struct {
	Value   string
	Checked bool
}

func choices[T ~string](all []T, checked []string) []choice {
	out := make([]choice, len(all))
	for i, v := range all {
		out[i] = choice{Value: string(v), Checked: slices.Contains(checked, string(v))}
	}
	return out
}

type paymentsData struct {
	Query    url.Values
	Outcomes []choice
	Payments []*anya.PaymentInfo
	Next     url.Values
}

func (h *Handler) payments(w http.ResponseWriter, r *http.Request) {
	q, err := readQuery(r, []string{"sender", "before", "limit"}, "outcome")
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	opts, err := listOptions(q)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	ps, err := h.m.Payments(r.Context(), opts...)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	d := paymentsData{Query: q, Payments: ps, Outcomes: choices([]anya.Outcome{anya.OutcomeSent, anya.OutcomeBlocked,
		anya.OutcomeUnverified, anya.OutcomeFailed, anya.OutcomePending}, q["outcome"])}
	if len(ps) > 0 {
		d.Next = nextPage(q, len(ps), ps[len(ps)-1].PaymentID)
	}
	h.render(w, r, http.StatusOK, "payments", "Payments", d)
}

type runsData struct {
	Query    url.Values
	Statuses []choice
	Runs     []workflow.RunSummary
	Next     url.Values
}

func (h *Handler) runs(w http.ResponseWriter, r *http.Request) {
	q, err := readQuery(r, []string{"workflow", "sender", "before", "limit"}, "status")
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	opts, err := listOptions(q)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	runs, err := h.m.Runs(r.Context(), opts...)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	d := runsData{Query: q, Runs: runs, Statuses: choices([]workflow.RunStatus{workflow.StatusRunning, workflow.StatusCompensating,
		workflow.StatusCompleted, workflow.StatusTerminated, workflow.StatusFailed}, q["status"])}
	if len(runs) > 0 {
		d.Next = nextPage(q, len(runs), runs[len(runs)-1].ID)
	}
	h.render(w, r, http.StatusOK, "runs", "Runs", d)
}

func (h *Handler) run(w http.ResponseWriter, r *http.Request) {
	if _, err := readQuery(r, nil); err != nil {
		h.failErr(w, r, err)
		return
	}
	id := r.PathValue("id")
	if len(id) > workflow.MaxRunIDLength {
		h.fail(w, r, http.StatusNotFound, errors.New("no such run"))
		return
	}
	d, err := h.m.InspectRun(r.Context(), id)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "run", "Run "+id, d)
}

type alertsData struct {
	// Fraud are the fraud monitor's newest alerts (Manager.FraudAlerts), up to MaxAlerts;
	// Monitor says whether the Manager runs the monitor.
	Fraud   []anya.FraudAlert
	Monitor bool
	Blocked []*anya.PaymentInfo
	Denied  []security.Entry
	Scanned int
}

func (h *Handler) alerts(w http.ResponseWriter, r *http.Request) {
	if _, err := readQuery(r, nil); err != nil {
		h.failErr(w, r, err)
		return
	}
	ctx := r.Context()
	blocked, err := h.m.Payments(ctx, anya.ListOutcome(anya.OutcomeBlocked), anya.ListLimit(MaxAlerts))
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	entries, err := h.newestEntries(ctx, 0, AlertsScan)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	fraud := h.m.FraudAlerts()
	d := alertsData{Fraud: fraud[:min(len(fraud), MaxAlerts)], Monitor: h.m.Monitor() != nil, Blocked: blocked, Scanned: len(entries)}
	for _, e := range entries {
		if e.Decision == security.DecisionDeny && len(d.Denied) < MaxAlerts {
			d.Denied = append(d.Denied, e)
		}
	}
	h.render(w, r, http.StatusOK, "alerts", "Alerts", d)
}

// newestEntries returns up to n audit entries before position before (0: the newest), newest
// first.
func (h *Handler) newestEntries(ctx context.Context, before uint64, n int) ([]security.Entry, error) {
	head, err := h.m.Audit().Head(ctx)
	if err != nil {
		return nil, err
	}
	end := head.Seq
	if before > 0 && before-1 < end {
		end = before - 1
	}
	if end == 0 {
		return nil, nil
	}
	from := uint64(1)
	if end > uint64(n) {
		from = end - uint64(n) + 1
	}
	es, err := h.m.Audit().Entries(ctx, from, int(end-from+1))
	if err != nil {
		return nil, err
	}
	slices.Reverse(es)
	return es, nil
}

type auditData struct {
	Health  anya.AuditHealth
	Entries []security.Entry
	Next    url.Values
}

func (h *Handler) audit(w http.ResponseWriter, r *http.Request) {
	q, err := readQuery(r, []string{"before", "limit"})
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	var before uint64
	if s := q.Get("before"); s != "" {
		if before, err = strconv.ParseUint(s, 10, 64); err != nil || before == 0 {
			h.failErr(w, r, queryError("before", "not a position"))
			return
		}
	}
	limit := DefaultAuditPage
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > MaxAuditPage {
			h.failErr(w, r, queryError("limit", fmt.Sprintf("not in 1..%d", MaxAuditPage)))
			return
		}
	}
	ctx := r.Context()
	hl, err := h.m.Health(ctx)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	es, err := h.newestEntries(ctx, before, limit)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	d := auditData{Health: hl.Audit, Entries: es}
	if len(es) == limit && es[len(es)-1].Seq > 1 {
		d.Next = url.Values{"before": {strconv.FormatUint(es[len(es)-1].Seq, 10)}, "limit": {strconv.Itoa(limit)}}
	}
	h.render(w, r, http.StatusOK, "audit", "Audit log", d)
}

func (h *Handler) breakers(w http.ResponseWriter, r *http.Request) {
	if _, err := readQuery(r, nil); err != nil {
		h.failErr(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "breakers", "Circuit breakers", h.m.Breakers())
}

func (h *Handler) resetBreaker(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !slices.ContainsFunc(h.m.Breakers(), func(b resilience.BreakerSnapshot) bool { return b.Name == name }) {
		h.fail(w, r, http.StatusNotFound, errors.New("no such circuit breaker"))
		return
	}
	if err := h.m.ResetBreaker(name); err != nil {
		h.failErr(w, r, err)
		return
	}
	h.cfg.logger.LogAttrs(r.Context(), slog.LevelInfo, "console: circuit breaker reset", slog.String("breaker", name))
	http.Redirect(w, r, basePath(r)+"/breakers", http.StatusSeeOther)
}

func (h *Handler) models(w http.ResponseWriter, r *http.Request) {
	if _, err := readQuery(r, nil); err != nil {
		h.failErr(w, r, err)
		return
	}
	ms, err := h.m.Models(r.Context())
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "models", "Models", ms)
}

// plot serves a model card's ROC and precision-recall curves.
func (h *Handler) plot(w http.ResponseWriter, r *http.Request) {
	ms, err := h.m.Models(r.Context())
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	i := slices.IndexFunc(ms, func(mi anya.ModelInfo) bool {
		return mi.Manifest.Name == r.PathValue("name") && mi.Manifest.Version == r.PathValue("version") && mi.Card != nil
	})
	if i < 0 {
		h.fail(w, r, http.StatusNotFound, errors.New("no such model card"))
		return
	}
	key := ms[i].Manifest.ID() + "@" + ms[i].Manifest.SHA256
	png, ok := h.plots.Load(key)
	if !ok {
		b, err := ms[i].Card.PlotPNG()
		if err != nil {
			h.failErr(w, r, err)
			return
		}
		png, _ = h.plots.LoadOrStore(key, b)
	}
	w.Header().Set("Content-Type", "image/png")
	_, _ = w.Write(png.([]byte))
}

func (h *Handler) health(w http.ResponseWriter, r *http.Request) {
	if _, err := readQuery(r, nil); err != nil {
		h.failErr(w, r, err)
		return
	}
	hl, err := h.m.Health(r.Context())
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "health", "Health", hl)
}

// healthJSON serves Health as JSON (redacted): 200 when healthy, 503 otherwise — for probes.
func (h *Handler) healthJSON(w http.ResponseWriter, r *http.Request) {
	if _, err := readQuery(r, nil); err != nil {
		h.failErr(w, r, err)
		return
	}
	hl, err := h.m.Health(r.Context())
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	code := http.StatusOK
	if !hl.OK {
		code = http.StatusServiceUnavailable
	}
	w.WriteHeader(code)
	_, _ = w.Write([]byte(h.red.json(hl) + "\n"))
}

func (h *Handler) live(w http.ResponseWriter, r *http.Request) {
	if _, err := readQuery(r, nil); err != nil {
		h.failErr(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "live", "Live events", nil)
}

// staticTypes are the console's assets and their types: nothing else under /static is served.
var staticTypes = map[string]string{
	"console.css": "text/css; charset=utf-8",
	"console.js":  "text/javascript; charset=utf-8",
	"favicon.svg": "image/svg+xml",
}

func (h *Handler) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	ct, ok := staticTypes[name]
	if !ok {
		h.fail(w, r, http.StatusNotFound, errors.New("no such file"))
		return
	}
	b, err := fs.ReadFile(h.static, name)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}
