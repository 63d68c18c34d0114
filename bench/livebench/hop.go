package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/firstmate-oss/firstmate/bench/internal/benchkit"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/platform/simdriver"
)

// The bare hop calibrates the throughput target. It is the least an API in
// front of the driver must do: a separate process serving HTTP that decodes
// the request, makes the same driver call and encodes the result, with no
// authentication, validation, limits, credits or database. The API path can
// reach at most what the bare hop reaches on the same box.

// Environment of the bare hop's process (this program, re-executed).
const (
	hopAddrEnv = "LIVEBENCH_HOP_ADDR"
	hopSimEnv  = "LIVEBENCH_HOP_SIM_URL"
)

// hopRequest is the bare hop's body.
type hopRequest struct {
	Input  map[string]any `json:"input"`
	Cookie string         `json:"cookie"`
}

// serveHop runs the bare hop until it is killed.
func serveHop(addr, simURL string) error {
	a, ok := catalog.Get(slug)
	if !ok {
		return fmt.Errorf("no action %s in the catalogue", slug)
	}
	drv, hc := simdriver.New(simURL), driverClient()
	params := liveParams()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /hop", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		var req hopRequest
		if err == nil {
			err = json.Unmarshal(body, &req)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		pg, err := drv.Run(r.Context(), hc, platform.Credentials{AuthType: platform.AuthCookies,
			Cookies: map[string]string{"li_at": req.Cookie}},
			platform.Call{Action: a, Input: req.Input, Params: params, Page: 1, PageSize: a.PageSize})
		if err != nil || len(pg.Results) != 1 {
			http.Error(w, fmt.Sprintf("driver: %v (%d results)", err, len(pg.Results)), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(pg.Results[0])
	})
	return (&http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}).ListenAndServe()
}

// hopCase measures the bare hop with the closed-loop clients.
func (b *bench) hopCase(ctx context.Context, shape loadShape) (*caseResult, error) {
	addr, err := benchkit.FreeAddr()
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), hopAddrEnv+"="+addr, hopSimEnv+"="+b.sim.Base)
	hop, err := benchkit.StartServer(ctx, "bare hop", cmd, addr, filepath.Join(b.tmp, "hop.log"), "/ready")
	if err != nil {
		return nil, err
	}
	defer hop.Stop()
	name := "bare hop: minimal HTTP server → simdriver Run (no auth, no database), " + shape.label
	benchkit.Logf("%s, %v warm-up + %v", name, b.o.warmup, shape.dur)
	client := benchkit.NewClient(shape.slots)
	defer client.CloseIdleConnections()
	newReq := func(w, seq int) (*http.Request, error) {
		body, err := json.Marshal(hopRequest{Input: map[string]any{"linkedin_profile_url": b.profileURL()},
			Cookie: b.cookies[identityOf(w, seq, shape.slots, b.o.identities)%len(b.cookies)]})
		if err != nil {
			return nil, err
		}
		return http.NewRequest(http.MethodPost, hop.Base+"/hop", bytes.NewReader(body))
	}
	cpu := cpuOver(hop.PID(), b.o.warmup, shape.dur)
	simCPU := cpuOver(b.sim.PID(), b.o.warmup, shape.dur)
	other := othersOver("", b.o.warmup, shape.dur)
	rss := benchkit.SampleRSS(hop.PID(), 20*time.Millisecond)
	res := shape.run(ctx, benchkit.HTTPDo(client, shape.slots, newReq, b.checkPerson))
	peak := rss.Stop()
	if res.FirstError != "" {
		benchkit.Logf("bare hop: first error: %s", res.FirstError)
	}
	c := &caseResult{db: "none", name: name, clients: shape.slots, load: res, peakKiB: peak, cpu: <-cpu, simCPU: <-simCPU}
	(<-other).into(c)
	return c, nil
}
