package executor_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/executor"
	"github.com/firstmate-oss/firstmate/internal/executor/simexec"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/platform/simdriver"
	"github.com/firstmate-oss/firstmate/internal/sim"
)

// env is the simulator, its driver used directly, and the same driver
// behind the executor protocol on loopback.
type env struct {
	t        *testing.T
	sim      *sim.Server
	simURL   string
	direct   *simdriver.Driver
	directHC *http.Client
	url      string
	secret   string
	c        *executor.Client
	logs     *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t testing.TB, opts ...executor.HandlerOption) *env {
	t.Helper()
	s, err := sim.New(sim.Config{Seed: 1, HangFor: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	simTS := httptest.NewServer(s.Handler())
	e := &env{sim: s, simURL: simTS.URL, direct: simdriver.New(simTS.URL), directHC: simTS.Client(),
		secret: executor.NewSecret(), logs: &syncBuffer{}}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, err := simexec.Handler(simTS.URL, e.secret, append([]executor.HandlerOption{executor.WithLogger(log)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	exTS := httptest.NewServer(h)
	e.url = exTS.URL
	if e.c, err = executor.New(exTS.URL, e.secret, nil, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exTS.Close(); s.Close(); simTS.Close() })
	return e
}

func cookie(c string) platform.Credentials {
	return platform.Credentials{AuthType: platform.AuthCookies, Cookies: map[string]string{"li_at": c}}
}

func action(t testing.TB, slug string) *catalog.Action {
	t.Helper()
	a, ok := catalog.Get(slug)
	if !ok {
		t.Fatalf("catalogue lacks %s", slug)
	}
	return a
}

func asApp(t *testing.T, err error) *apperr.Error {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok {
		t.Fatalf("want an *apperr.Error, got %T %v", err, err)
	}
	return e
}

// fake is an executor written in the test: it answers each request with h,
// after recording it.
type fake struct {
	ts   *httptest.Server
	c    *executor.Client
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	path   string
	header http.Header
	body   []byte
}

func newFake(t *testing.T, deadline time.Duration, h func(w http.ResponseWriter, r *http.Request, body []byte)) *fake {
	t.Helper()
	f := &fake{}
	f.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, recorded{r.URL.Path, r.Header.Clone(), body})
		f.mu.Unlock()
		h(w, r, body)
	}))
	t.Cleanup(f.ts.Close)
	var err error
	if f.c, err = executor.New(f.ts.URL, executor.NewSecret(), nil, deadline); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fake) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

func (f *fake) last() recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reqs[len(f.reqs)-1]
}

func answer(status int, body string) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func run(c *executor.Client, ctx context.Context, slug string, input map[string]any) (platform.Page, error) {
	a, _ := catalog.Get(slug)
	return c.Run(ctx, nil, cookie("sim_salesnav"), platform.Call{Action: a, Input: input, Params: map[string]any{}, Page: 1})
}

func newServer(t testing.TB, h http.Handler) string {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}
