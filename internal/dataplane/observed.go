package dataplane

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

// observed is a family's driver whose action calls are reported to
// Deps.ObserveCall. Only Run is timed: Me validates connections, which
// the health metrics cover.
type observed struct {
	platform.Driver
	family  string
	observe func(family, label string, took time.Duration)
}

func (o observed) Run(ctx context.Context, hc *http.Client, cred platform.Credentials, call platform.Call) (platform.Page, error) {
	start := time.Now()
	pg, err := o.Driver.Run(ctx, hc, cred, call)
	o.observe(o.family, CallLabel(err), time.Since(start))
	return pg, err
}

// PausesOnRateLimit passes the wrapped driver's answer on: the engine pauses
// an account on a rate limit only for drivers that ask (platform.Pacer), and
// the wrapper must not hide that.
func (o observed) PausesOnRateLimit() bool { return platform.PausesOnRateLimit(o.Driver) }

// observedDownloader keeps a driver's downloads: the engine asks the
// driver whether it serves files.
type observedDownloader struct {
	observed
	platform.Downloader
}

// observe wraps d so that its action calls are reported.
func observe(d platform.Driver, family string, fn func(family, label string, took time.Duration)) platform.Driver {
	o := observed{Driver: d, family: family, observe: fn}
	if dl, ok := d.(platform.Downloader); ok {
		return observedDownloader{observed: o, Downloader: dl}
	}
	return o
}

// CallLabel is the label a driver call's outcome is counted under: "OK",
// the API error label it came to (LK_ERROR, RATE_LIMITED, ...), "CANCELED"
// or "ERROR".
func CallLabel(err error) string {
	var ae *apperr.Error
	switch {
	case err == nil:
		return "OK"
	case errors.As(err, &ae) && ae.Label != "":
		return ae.Label
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "CANCELED"
	}
	return "ERROR"
}
