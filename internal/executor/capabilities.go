package executor

import (
	"fmt"
	"slices"
	"sort"

	"github.com/firstmate-oss/firstmate/internal/catalog"
)

// Capabilities is what an executor serves: GET /v1/capabilities.
type Capabilities struct {
	// Protocol is the major version the executor speaks (Version).
	Protocol int `json:"protocol"`
	// Executor names the implementation and its version, for humans.
	Executor string   `json:"executor,omitempty"`
	Families []Family `json:"families"`
	// Conformance, optional, tells the conformance kit how to exercise the
	// executor: accounts, inputs, and the requests that produce each error
	// label. Serve it from sandbox or test deployments only.
	Conformance *Conformance `json:"conformance,omitempty"`
}

// Family is one platform family an executor serves.
type Family struct {
	Name string `json:"family"`
	// Actions are the catalogue slugs served (each of this family).
	Actions []string `json:"actions"`
	// Accounts: POST /v1/me validates this family's connections.
	Accounts bool `json:"accounts"`
	// Login: POST /v1/login and /v1/checkpoint log in with a password.
	Login bool `json:"login"`
}

// Conformance is the executor's guide for the conformance kit.
type Conformance struct {
	// Credentials, by family, of an account the kit may use for `me` and
	// for the actions that need an identity.
	Credentials map[string]Credentials `json:"credentials,omitempty"`
	// Samples are inputs that give results, for actions whose inputs the
	// kit cannot make up (an id only this account can see). The kit builds
	// an input for the other actions from the catalogue.
	Samples []Case `json:"samples,omitempty"`
	// Errors are requests that produce one error label each (Case.Expect).
	Errors []Case `json:"errors,omitempty"`
	// Slow is a request that would take longer than any deadline: the
	// executor must give up at the deadline and answer LK_524.
	Slow *Case `json:"slow,omitempty"`
	// Login is a username/password login the kit runs to its end.
	Login *LoginCase `json:"login,omitempty"`
}

// Case is one request of the conformance kit.
type Case struct {
	// Endpoint: "run" (the default), "me", "login" or "checkpoint".
	Endpoint   string         `json:"endpoint,omitempty"`
	Family     string         `json:"family,omitempty"` // default: the action's
	Action     string         `json:"action,omitempty"`
	Input      map[string]any `json:"input,omitempty"`
	Parameters map[string]any `json:"parameters,omitempty"`
	// Credentials default to Conformance.Credentials[family].
	Credentials *Credentials `json:"credentials,omitempty"`
	ProxyURL    string       `json:"proxy_url,omitempty"`
	State       string       `json:"state,omitempty"` // checkpoint
	Code        string       `json:"code,omitempty"`  // checkpoint
	// Expect is the error label the request must produce.
	Expect string `json:"expect,omitempty"`
	// Attempts, for triggers that depend on state (the sixth call fails):
	// the kit sends the request up to this many times and passes when the
	// expected label comes back once. Default 1.
	Attempts int `json:"attempts,omitempty"`
}

// LoginCase is a login the kit drives to AUTHENTICATED.
type LoginCase struct {
	Family   string `json:"family"`
	Username string `json:"username"`
	Password string `json:"password"`
	// Code answers each checkpoint ("" polls an IN_APP_VALIDATION).
	Code string `json:"code,omitempty"`
}

// Family returns the named family.
func (c Capabilities) Family(name string) (Family, bool) {
	for _, f := range c.Families {
		if f.Name == name {
			return f, true
		}
	}
	return Family{}, false
}

// Serves reports whether the executor claims the action.
func (c Capabilities) Serves(slug string) bool {
	a, ok := catalog.Get(slug)
	if !ok {
		return false
	}
	f, ok := c.Family(a.Platform)
	return ok && slices.Contains(f.Actions, slug)
}

// Check lists what is wrong with the capabilities for this Firstmate: a
// protocol version it does not speak, unknown families, slugs that are not
// in the catalogue or not of their family, duplicates. Empty means usable.
func (c Capabilities) Check() []string {
	var out []string
	if c.Protocol != Version {
		out = append(out, fmt.Sprintf("protocol %d: this Firstmate speaks protocol %d", c.Protocol, Version))
	}
	known := Families()
	seen := map[string]bool{}
	for _, f := range c.Families {
		if !slices.Contains(known, f.Name) {
			out = append(out, fmt.Sprintf("family %q is not one of %v", f.Name, known))
			continue
		}
		if seen[f.Name] {
			out = append(out, fmt.Sprintf("family %q is listed twice", f.Name))
		}
		seen[f.Name] = true
		slugs := map[string]bool{}
		for _, s := range f.Actions {
			a, ok := catalog.Get(s)
			switch {
			case !ok:
				out = append(out, fmt.Sprintf("%s: action %q is not in this Firstmate's catalogue", f.Name, s))
			case a.Platform != f.Name:
				out = append(out, fmt.Sprintf("%s: action %q belongs to the %s family", f.Name, s, a.Platform))
			case slugs[s]:
				out = append(out, fmt.Sprintf("%s: action %q is listed twice", f.Name, s))
			}
			slugs[s] = true
		}
	}
	return out
}

// Families returns the platform families of the catalogue, sorted.
func Families() []string {
	set := map[string]bool{}
	for _, a := range catalog.All() {
		set[a.Platform] = true
	}
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// ActionsOf returns the catalogue slugs of a family, sorted.
func ActionsOf(family string) []string {
	var out []string
	for _, a := range catalog.All() {
		if a.Platform == family {
			out = append(out, a.Slug)
		}
	}
	return out
}
