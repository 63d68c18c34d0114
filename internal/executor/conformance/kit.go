// Package conformance is the executor conformance kit (`firstmate executor
// check URL --secret S`): it calls an executor with every case Firstmate
// relies on and reports, case by case, what passes.
//
// The cases: the capabilities; signatures (none, a wrong secret, a stale or
// future timestamp, a tampered body: each must be refused with 401); `me`
// for each family with accounts; every claimed action once, its results
// checked against the action's output schema, and list actions paged to
// their end; every error label the executor declares a trigger for (the
// conformance section of its capabilities, or Options.Conformance); a slow
// request past its deadline (the executor must give up and answer LK_524
// before Firstmate's own cut); and a login through its checkpoint.
//
// Outreach actions act on the platform (they send invitations and
// messages): the kit runs them only with an input the executor declares, or
// with Options.Outreach.
package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/executor"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

// Options configure a run of the kit.
type Options struct {
	URL, Secret string
	// HTTPClient carries the requests (nil: executor.NewHTTPClient()).
	HTTPClient *http.Client
	// Deadline bounds each request (default 30 s).
	Deadline time.Duration
	// SlowDeadline is the deadline of the slow request (default 2 s).
	SlowDeadline time.Duration
	// MaxPages bounds the pagination of one list (default 200).
	MaxPages int
	// Outreach runs outreach actions with made-up inputs too.
	Outreach bool
	// Conformance replaces the section the executor serves.
	Conformance *executor.Conformance
}

// Status of one case.
type Status string

const (
	Pass Status = "PASS"
	Fail Status = "FAIL"
	Skip Status = "SKIP"
)

// Result is one case.
type Result struct {
	Group, Name string
	Status      Status
	Detail      string
}

// Report is every case of a run, in order.
type Report struct {
	URL      string
	Executor string
	Results  []Result
}

// Count returns how many cases have the status.
func (r Report) Count(s Status) int {
	n := 0
	for _, x := range r.Results {
		if x.Status == s {
			n++
		}
	}
	return n
}

// Failed reports whether any case failed.
func (r Report) Failed() bool { return r.Count(Fail) > 0 }

// Find returns the first result of a group and name.
func (r Report) Find(group, name string) (Result, bool) {
	for _, x := range r.Results {
		if x.Group == group && x.Name == name {
			return x, true
		}
	}
	return Result{}, false
}

// Write prints the report, a section per group.
func (r Report) Write(w io.Writer) {
	fmt.Fprintf(w, "Executor conformance: %s", r.URL)
	if r.Executor != "" {
		fmt.Fprintf(w, " (%s)", r.Executor)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	group := ""
	for _, x := range r.Results {
		if x.Group != group {
			group = x.Group
			fmt.Fprintf(tw, "\n%s\n", group)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", x.Status, x.Name, x.Detail)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d passed, %d failed, %d skipped\n", r.Count(Pass), r.Count(Fail), r.Count(Skip))
}

type kit struct {
	o      Options
	c      *executor.Client
	rep    *Report
	conf   *executor.Conformance
	caps   executor.Capabilities
	sample map[string]executor.Case
}

// Run runs every case against the executor at o.URL.
func Run(ctx context.Context, o Options) Report {
	rep := &Report{URL: o.URL}
	if o.Deadline <= 0 {
		o.Deadline = 30 * time.Second
	}
	if o.SlowDeadline <= 0 {
		o.SlowDeadline = 2 * time.Second
	}
	if o.MaxPages <= 0 {
		o.MaxPages = 200
	}
	if o.HTTPClient == nil {
		o.HTTPClient = executor.NewHTTPClient()
	}
	c, err := executor.New(o.URL, o.Secret, o.HTTPClient, o.Deadline)
	if err != nil {
		rep.Results = append(rep.Results, Result{"protocol", "client", Fail, err.Error()})
		return *rep
	}
	k := &kit{o: o, c: c, rep: rep, sample: map[string]executor.Case{}}
	if !k.capabilities(ctx) {
		return *rep
	}
	k.signatures(ctx)
	for _, f := range k.caps.Families {
		k.family(ctx, f)
	}
	k.errors(ctx)
	k.slow(ctx)
	k.login(ctx)
	return *rep
}

func (k *kit) add(group, name string, s Status, format string, args ...any) {
	k.rep.Results = append(k.rep.Results, Result{group, name, s, fmt.Sprintf(format, args...)})
}

func (k *kit) capabilities(ctx context.Context) bool {
	caps, err := k.c.Capabilities(ctx)
	if err != nil {
		k.add("protocol", "capabilities", Fail, "%s", describe(err))
		return false
	}
	k.caps, k.rep.Executor = caps, caps.Executor
	if p := caps.Check(); len(p) > 0 {
		for _, x := range p {
			k.add("protocol", "capabilities", Fail, "%s", x)
		}
		if caps.Protocol != executor.Version {
			return false
		}
	} else {
		n := 0
		for _, f := range caps.Families {
			n += len(f.Actions)
		}
		k.add("protocol", "capabilities", Pass, "protocol %d, %d families, %d actions", caps.Protocol, len(caps.Families), n)
	}
	k.conf = k.o.Conformance
	if k.conf == nil {
		k.conf = caps.Conformance
	}
	if k.conf == nil {
		k.conf = &executor.Conformance{}
		k.add("protocol", "conformance section", Skip, "none served and none given: only made-up inputs, no accounts, no error triggers")
	}
	for _, s := range k.conf.Samples {
		k.sample[s.Action] = s
	}
	return true
}

// ---- signatures -------------------------------------------------------------------

func (k *kit) signatures(ctx context.Context) {
	body := k.someRunBody()
	now := time.Now()
	wrong := executor.NewSecret()
	cases := []struct {
		name, path string
		body       []byte
		sign       func(h http.Header, b []byte)
		send       []byte // the body actually sent, when it differs
	}{
		{"no signature", executor.PathCapabilities, nil, func(http.Header, []byte) {}, nil},
		{"wrong secret", executor.PathCapabilities, nil, func(h http.Header, b []byte) { _ = executor.Sign(h, wrong, "msg_kit_wrong", now, b) }, nil},
		{"wrong secret (run)", executor.PathRun, body, func(h http.Header, b []byte) { _ = executor.Sign(h, wrong, "msg_kit_wrong_run", now, b) }, nil},
		{"stale timestamp", executor.PathRun, body, func(h http.Header, b []byte) {
			_ = executor.Sign(h, k.o.Secret, "msg_kit_stale", now.Add(-executor.ReplayWindow-time.Minute), b)
		}, nil},
		{"future timestamp", executor.PathRun, body, func(h http.Header, b []byte) {
			_ = executor.Sign(h, k.o.Secret, "msg_kit_future", now.Add(executor.ReplayWindow+time.Minute), b)
		}, nil},
		{"tampered body", executor.PathRun, body, func(h http.Header, b []byte) { _ = executor.Sign(h, k.o.Secret, "msg_kit_tampered", now, b) },
			bytes.Replace(body, []byte(`"page":1`), []byte(`"page":2`), 1)},
	}
	for _, c := range cases {
		method := http.MethodPost
		if c.body == nil {
			method = http.MethodGet
		}
		sent := c.body
		if c.send != nil {
			sent = c.send
		}
		status, err := k.raw(ctx, method, c.path, sent, func(h http.Header) { c.sign(h, c.body) })
		switch {
		case err != nil:
			k.add("protocol", "signature: "+c.name, Fail, "the request failed: %v", err)
		case status != http.StatusUnauthorized:
			k.add("protocol", "signature: "+c.name, Fail, "answered %d; a request with a bad signature must be refused with 401", status)
		default:
			k.add("protocol", "signature: "+c.name, Pass, "refused with 401")
		}
	}
}

// someRunBody is a valid run request for the first claimed action, so that
// an executor that ignored signatures would run it.
func (k *kit) someRunBody() []byte {
	req := executor.RunRequest{Page: 1, Input: map[string]any{}, Parameters: map[string]any{}}
	for _, f := range k.caps.Families {
		for _, slug := range f.Actions {
			a, ok := catalog.Get(slug)
			if !ok {
				continue
			}
			in, params, err := k.inputFor(a)
			if err != nil {
				continue
			}
			req.Action, req.Family, req.Input, req.Parameters, req.PageSize = a.Slug, a.Platform, in, params, a.PageSize
			if cred, ok := k.credentials(a.Platform, nil); ok {
				req.Credentials = cred
			}
			break
		}
		if req.Action != "" {
			break
		}
	}
	req.RequestID, req.TimeoutMS = "req_kit_signature", 5000
	req.Deadline = time.Now().Add(5 * time.Second).UTC().Format(time.RFC3339Nano)
	b, _ := json.Marshal(req)
	return b
}

func (k *kit) raw(ctx context.Context, method, path string, body []byte, sign func(http.Header)) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, k.o.Deadline)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, k.c.Base()+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set(executor.HeaderProtocol, "1")
	sign(req.Header)
	res, err := k.o.HTTPClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	return res.StatusCode, nil
}

// ---- families and actions ----------------------------------------------------------

func (k *kit) credentials(family string, c *executor.Case) (executor.Credentials, bool) {
	if c != nil && c.Credentials != nil {
		return *c.Credentials, true
	}
	cred, ok := k.conf.Credentials[family]
	return cred, ok
}

func platformCred(c executor.Credentials) platform.Credentials {
	return platform.Credentials{AuthType: c.AuthType, Cookies: c.Cookies, Username: c.Username, Password: c.Password, Token: c.Token}
}

func (k *kit) family(ctx context.Context, f executor.Family) {
	if f.Accounts {
		if cred, ok := k.credentials(f.Name, nil); !ok {
			k.add(f.Name, "me", Skip, "no credentials declared for %s", f.Name)
		} else if acc, err := k.c.ForFamily(f.Name).Me(ctx, nil, platformCred(cred)); err != nil {
			k.add(f.Name, "me", Fail, "%s", describe(err))
		} else {
			k.add(f.Name, "me", Pass, "%q, %s", acc.Name, orDash(acc.Level))
		}
	}
	for _, slug := range f.Actions {
		if a, ok := catalog.Get(slug); ok {
			k.action(ctx, a)
		}
	}
}

func (k *kit) inputFor(a *catalog.Action) (map[string]any, map[string]any, error) {
	if s, ok := k.sample[a.Slug]; ok {
		return Sample(a, orEmpty(s.Input), s.Parameters)
	}
	return Sample(a, nil, nil)
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func (k *kit) action(ctx context.Context, a *catalog.Action) {
	s, declared := k.sample[a.Slug]
	if !declared && a.Kind == catalog.KindOutreach && !k.o.Outreach {
		k.add(a.Platform, a.Slug, Skip, "outreach acts on the platform: declare a sample, or pass --outreach")
		return
	}
	var cred platform.Credentials
	if a.NeedsIdentity {
		c, ok := k.credentials(a.Platform, &s)
		if !ok {
			k.add(a.Platform, a.Slug, Skip, "needs an account: declare credentials for %s", a.Platform)
			return
		}
		cred = platformCred(c)
	}
	input, params, err := k.inputFor(a)
	var ns *NoSampleError
	switch {
	case errors.As(err, &ns):
		k.add(a.Platform, a.Slug, Skip, "%v", err)
		return
	case err != nil:
		k.add(a.Platform, a.Slug, Fail, "the declared sample is %v", err)
		return
	}
	ctx = platform.WithProxyURL(ctx, s.ProxyURL)
	call := platform.Call{Action: a, Input: input, Params: params, Page: 1}
	pg, err := k.c.Run(ctx, nil, cred, call)
	if err != nil {
		if e, ok := apperr.As(err); ok && !declared && e.Params[executor.ParamExecutorFault] == "" {
			k.add(a.Platform, a.Slug, Pass, "answered %s to a made-up input (declare a sample to see results)", e.Label)
			return
		}
		k.add(a.Platform, a.Slug, Fail, "%s", describe(err))
		return
	}
	k.add(a.Platform, a.Slug, Pass, "%d %s", len(pg.Results), plural(len(pg.Results), "result"))
	if pg.More {
		k.paginate(ctx, a, cred, call, pg)
	}
}

// paginate follows a list to its end: has_more false (or an empty page).
// A token seen twice, or a page that repeats the previous one, means the
// list would never end; a list still going after MaxPages is left there.
func (k *kit) paginate(ctx context.Context, a *catalog.Action, cred platform.Credentials, call platform.Call, pg platform.Page) {
	name := a.Slug + " pages"
	pages, total, seen := 1, len(pg.Results), map[string]bool{}
	prev, _ := json.Marshal(pg.Results)
	for pg.More {
		if pages >= k.o.MaxPages {
			k.add(a.Platform, name, Skip, "stopped after %d pages (%d results) with more to come: raise --max-pages to see the end", pages, total)
			return
		}
		if pg.NextToken != "" {
			if seen[pg.NextToken] {
				k.add(a.Platform, name, Fail, "page %d gave a next_page_token already seen: the list would never end", pages)
				return
			}
			seen[pg.NextToken] = true
		}
		call.Page, call.Token = pages+1, pg.NextToken
		var err error
		if pg, err = k.c.Run(ctx, nil, cred, call); err != nil {
			k.add(a.Platform, name, Fail, "page %d: %s", call.Page, describe(err))
			return
		}
		pages++
		total += len(pg.Results)
		cur, _ := json.Marshal(pg.Results)
		if len(pg.Results) > 0 && bytes.Equal(cur, prev) {
			k.add(a.Platform, name, Fail, "page %d repeats page %d: the list would never end", pages, pages-1)
			return
		}
		prev = cur
	}
	k.add(a.Platform, name, Pass, "paged to the end: %d pages, %d results", pages, total)
}

// ---- errors ---------------------------------------------------------------------------

func (k *kit) errors(ctx context.Context) {
	covered := map[string]bool{}
	for _, c := range k.conf.Errors {
		k.errorCase(ctx, c)
		covered[c.Expect] = true
	}
	if k.conf.Slow != nil {
		covered[platform.LabelLK524] = true
	}
	if !covered[platform.LabelProxy] {
		// An unreachable proxy: every executor must send its platform
		// traffic through the request's proxy, and say so when it cannot.
		if c, ok := k.anyRunCase(); ok {
			c.ProxyURL, c.Expect = "http://127.0.0.1:1", platform.LabelProxy
			k.errorCase(ctx, c)
			covered[platform.LabelProxy] = true
		}
	}
	for _, l := range executor.Labels() {
		if !covered[l] {
			k.add("errors", l, Skip, "no trigger case declared")
		}
	}
}

// anyRunCase is a request of a non-outreach action the kit can make.
func (k *kit) anyRunCase() (executor.Case, bool) {
	for _, f := range k.caps.Families {
		for _, slug := range f.Actions {
			a, ok := catalog.Get(slug)
			if !ok || a.Kind == catalog.KindOutreach {
				continue
			}
			if _, _, err := k.inputFor(a); err != nil {
				continue
			}
			if _, ok := k.credentials(a.Platform, nil); a.NeedsIdentity && !ok {
				continue
			}
			return executor.Case{Action: slug}, true
		}
	}
	return executor.Case{}, false
}

// send makes one request of a case and returns its error.
func (k *kit) send(ctx context.Context, c executor.Case) error {
	fam := c.Family
	var a *catalog.Action
	if c.Endpoint == "" || c.Endpoint == "run" {
		var ok bool
		if a, ok = catalog.Get(c.Action); !ok {
			return fmt.Errorf("the case names an unknown action %q", c.Action)
		}
		fam = a.Platform
	}
	cred, _ := k.credentials(fam, &c)
	ctx = platform.WithProxyURL(ctx, c.ProxyURL)
	fc := k.c.ForFamily(fam)
	switch c.Endpoint {
	case "", "run":
		in, params := c.Input, c.Parameters
		if in == nil {
			if s, ok := k.sample[a.Slug]; ok {
				in, params = s.Input, s.Parameters
			}
		}
		input, params, err := Sample(a, in, params)
		if err != nil {
			return err
		}
		_, err = k.c.Run(ctx, nil, platformCred(cred), platform.Call{Action: a, Input: input, Params: params, Page: 1})
		return err
	case "me":
		_, err := fc.Me(ctx, nil, platformCred(cred))
		return err
	case "login":
		_, err := fc.Login(ctx, nil, cred.Username, cred.Password)
		return err
	case "checkpoint":
		state := c.State
		if state == "" {
			r, err := fc.Login(ctx, nil, cred.Username, cred.Password)
			if err != nil {
				return fmt.Errorf("the login before the checkpoint failed: %w", err)
			}
			if r.Checkpoint == nil {
				return errors.New("the login before the checkpoint gave no checkpoint")
			}
			state = r.Checkpoint.State
		}
		_, err := fc.Checkpoint(ctx, nil, state, c.Code)
		return err
	}
	return fmt.Errorf("unknown endpoint %q", c.Endpoint)
}

func (k *kit) errorCase(ctx context.Context, c executor.Case) {
	what := c.Action
	if c.Endpoint != "" && c.Endpoint != "run" {
		what = c.Endpoint + " (" + c.Family + ")"
	}
	if !slices.Contains(executor.Labels(), c.Expect) {
		k.add("errors", c.Expect, Fail, "%s: the case expects %q, which is not a label of the protocol", what, c.Expect)
		return
	}
	attempts := max(c.Attempts, 1)
	var last error
	for i := 1; i <= attempts; i++ {
		err := k.send(ctx, c)
		last = err
		if err == nil {
			continue
		}
		e, ok := apperr.As(err)
		if !ok {
			k.add("errors", c.Expect, Fail, "%s: %v", what, err)
			return
		}
		if e.Params[executor.ParamExecutorFault] != "" {
			k.add("errors", c.Expect, Fail, "%s: %s", what, describe(err))
			return
		}
		if e.Label == c.Expect {
			n := ""
			if attempts > 1 {
				n = fmt.Sprintf(" on attempt %d", i)
			}
			k.add("errors", c.Expect, Pass, "%s%s: %s", what, n, e.Message)
			return
		}
		if attempts == 1 {
			k.add("errors", c.Expect, Fail, "%s: answered %s (%s), want %s", what, e.Label, e.Message, c.Expect)
			return
		}
	}
	if last == nil {
		k.add("errors", c.Expect, Fail, "%s succeeded %d %s; want %s", what, attempts, plural(attempts, "time"), c.Expect)
		return
	}
	k.add("errors", c.Expect, Fail, "%s: no %s in %d attempts (last: %s)", what, c.Expect, attempts, describe(last))
}

// ---- deadline and login -----------------------------------------------------------------

func (k *kit) slow(ctx context.Context) {
	c := k.conf.Slow
	if c == nil {
		k.add("deadline", "slow request", Skip, "no slow case declared")
		return
	}
	sctx, cancel := context.WithTimeout(ctx, k.o.SlowDeadline)
	defer cancel()
	start := time.Now()
	err := k.send(sctx, *c)
	took := time.Since(start).Round(10 * time.Millisecond)
	e, _ := apperr.As(err)
	switch {
	case err == nil:
		k.add("deadline", "slow request", Fail, "answered in %s, within the %s deadline: the slow case must take longer", took, k.o.SlowDeadline)
	case e != nil && e.Params[executor.ParamExecutorFault] == "timeout":
		k.add("deadline", "slow request", Fail, "no answer by the %s deadline: the executor must give up when timeout_ms runs out and answer LK_524", k.o.SlowDeadline)
	case e != nil && e.Label == platform.LabelLK524 && e.Params[executor.ParamExecutorFault] == "":
		k.add("deadline", "slow request", Pass, "LK_524 from the executor after %s (deadline %s)", took, k.o.SlowDeadline)
	default:
		k.add("deadline", "slow request", Fail, "%s; want LK_524 from the executor", describe(err))
	}
}

func (k *kit) login(ctx context.Context) {
	lc := k.conf.Login
	if lc == nil {
		for _, f := range k.caps.Families {
			if f.Login {
				k.add("login", "login", Skip, "%s logs in with a password, but no login case is declared", f.Name)
			}
		}
		return
	}
	fc := k.c.ForFamily(lc.Family)
	r, err := fc.Login(ctx, nil, lc.Username, lc.Password)
	var steps []string
	for i := 0; err == nil && r.Checkpoint != nil; i++ {
		if i == 10 {
			k.add("login", lc.Username, Fail, "still at a checkpoint after %d answers (%s)", i, strings.Join(steps, ", "))
			return
		}
		steps = append(steps, r.Checkpoint.Type)
		r, err = fc.Checkpoint(ctx, nil, r.Checkpoint.State, lc.Code)
	}
	if err != nil {
		k.add("login", lc.Username, Fail, "%s", describe(err))
		return
	}
	via := "no checkpoint"
	if len(steps) > 0 {
		via = "through " + strings.Join(steps, ", ")
	}
	acc, err := fc.Me(ctx, nil, platform.SessionCredentials(r))
	if err != nil {
		k.add("login", lc.Username, Fail, "AUTHENTICATED %s, but me with the new session: %s", via, describe(err))
		return
	}
	k.add("login", lc.Username, Pass, "AUTHENTICATED %s, level %s; me: %q", via, orDash(r.Level), acc.Name)
}

// ---- helpers ------------------------------------------------------------------------

func describe(err error) string {
	if e, ok := apperr.As(err); ok {
		s := e.Label + ": " + e.Message
		if f := e.Params[executor.ParamExecutorFault]; f != "" {
			s += " [" + f + "]"
		}
		return s
	}
	return err.Error()
}

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
