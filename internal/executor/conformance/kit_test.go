package conformance

import (
	"bytes"
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/executor"
	"github.com/firstmate-oss/firstmate/internal/executor/simexec"
	"github.com/firstmate-oss/firstmate/internal/sim"
)

// sandbox starts the simulator and its executor on loopback.
func sandbox(t *testing.T) (url, secret string) {
	t.Helper()
	s, err := sim.New(sim.Config{Seed: 1, HangFor: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	simTS := httptest.NewServer(s.Handler())
	secret = executor.NewSecret()
	h, err := simexec.Handler(simTS.URL, secret)
	if err != nil {
		t.Fatal(err)
	}
	exTS := httptest.NewServer(h)
	t.Cleanup(func() { exTS.Close(); s.Close(); simTS.Close() })
	return exTS.URL, secret
}

func TestSandboxExecutorPasses(t *testing.T) {
	url, secret := sandbox(t)
	start := time.Now()
	rep := Run(context.Background(), Options{URL: url, Secret: secret, Outreach: true, SlowDeadline: time.Second})
	var b bytes.Buffer
	rep.Write(&b)
	t.Logf("%s\n(%s)", b.String(), time.Since(start))
	if rep.Failed() {
		t.Fatal("the sandbox executor fails the kit")
	}
}
