package dataplane

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/platform"
)

type plainDriver struct{}

func (plainDriver) Me(context.Context, *http.Client, platform.Credentials) (platform.Account, error) {
	return platform.Account{}, nil
}

func (plainDriver) Run(context.Context, *http.Client, platform.Credentials, platform.Call) (platform.Page, error) {
	return platform.Page{}, nil
}

type pacingDriver struct{ plainDriver }

func (pacingDriver) PausesOnRateLimit() bool { return true }

type pacingDownloader struct{ pacingDriver }

func (pacingDownloader) Download(context.Context, *http.Client, platform.Credentials, string) (platform.File, error) {
	return platform.File{}, nil
}

// The metrics wrapper must keep what the engine asks a driver for: whether
// it pauses an account on a rate limit (the LinkedIn session driver does;
// losing it let every worker retry into LinkedIn's bot detection) and
// whether it serves files.
func TestObservedKeepsTheDriversCapabilities(t *testing.T) {
	noop := func(string, string, time.Duration) {}
	cases := []struct {
		name           string
		d              platform.Driver
		pauses, serves bool
	}{
		{"plain", plainDriver{}, false, false},
		{"pacer", pacingDriver{}, true, false},
		{"pacer and downloader", pacingDownloader{}, true, true},
	}
	for _, c := range cases {
		w := observe(c.d, "linkedin", noop, nil)
		if got := platform.PausesOnRateLimit(w); got != c.pauses {
			t.Errorf("%s: PausesOnRateLimit = %v, the driver says %v", c.name, got, c.pauses)
		}
		if _, got := w.(platform.Downloader); got != c.serves {
			t.Errorf("%s: Downloader = %v, the driver says %v", c.name, got, c.serves)
		}
	}
}
