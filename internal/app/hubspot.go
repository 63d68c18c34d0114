package app

import (
	"sync"

	"github.com/firstmate-oss/firstmate/internal/platform/hubspot/hubspottest"
)

// fakeHubSpot starts the bundled fake HubSpot (hubspottest) on a loopback
// port, once per process, for HubSpot routed to the sandbox
// (FIRSTMATE_PLATFORM_HUBSPOT=sandbox, or FIRSTMATE_HUBSPOT_URL=fake): it
// accepts the token hubspottest.SandboxToken and keeps its contacts in
// memory for the life of the process.
func (a *App) fakeHubSpot() string {
	url := fakeHubSpotURL()
	a.Log.Warn("HubSpot actions use the bundled fake HubSpot: nothing reaches a real CRM", "url", url,
		"token", hubspottest.SandboxToken)
	return url
}

var fakeHubSpotServer struct {
	once sync.Once
	srv  *hubspottest.Server
}

// fakeHubSpotURL starts the process's one fake HubSpot.
func fakeHubSpotURL() string {
	fakeHubSpotServer.once.Do(func() { fakeHubSpotServer.srv = hubspottest.New(hubspottest.SandboxToken) })
	return fakeHubSpotServer.srv.URL
}
