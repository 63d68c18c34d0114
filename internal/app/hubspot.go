package app

import (
	"strings"
	"sync"

	"github.com/firstmate-oss/firstmate/internal/platform/hubspot"
	"github.com/firstmate-oss/firstmate/internal/platform/hubspot/hubspottest"
)

// wireHubSpot registers the HubSpot driver under its family. It talks to
// https://api.hubapi.com unless FIRSTMATE_HUBSPOT_URL says otherwise: a test
// double, or an egress gateway in front of HubSpot. FIRSTMATE_HUBSPOT_URL=fake
// starts the bundled fake HubSpot (hubspottest) on a loopback port for
// offline demos; it accepts the token hubspottest.SandboxToken and keeps its
// contacts in memory for the life of the process.
func (a *App) wireHubSpot() {
	url := strings.TrimSpace(a.Cfg.HubSpotURL)
	if url == "fake" {
		url = fakeHubSpotURL()
		a.Log.Warn("HubSpot actions use the bundled fake HubSpot (FIRSTMATE_HUBSPOT_URL=fake): nothing reaches a real CRM",
			"url", url, "token", hubspottest.SandboxToken)
	}
	a.Engine.Drivers[hubspot.Family] = hubspot.New(url)
}

var fakeHubSpot struct {
	once sync.Once
	srv  *hubspottest.Server
}

// fakeHubSpotURL starts the process's one fake HubSpot.
func fakeHubSpotURL() string {
	fakeHubSpot.once.Do(func() { fakeHubSpot.srv = hubspottest.New(hubspottest.SandboxToken) })
	return fakeHubSpot.srv.URL
}
