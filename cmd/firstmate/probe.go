package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/platform/linkedin"
)

// probeLinkedIn is `firstmate probe linkedin`: every recipe of the
// LinkedIn session driver, once, with the operator's own session.
func (c *cli) probeLinkedIn(args []string) error {
	o := c.flags("probe linkedin", false)
	fs := o.fs
	baseURL := o.cfg.LinkedIn.URL
	if baseURL == "" {
		baseURL = linkedin.DefaultBaseURL
	}
	liAt := fs.String("li-at", "", "the li_at cookie of a LinkedIn session (required)")
	jsid := fs.String("jsessionid", "", "the JSESSIONID cookie (without it, one is obtained as the web app does)")
	ua := fs.String("user-agent", "", "the user agent of the browser the session comes from")
	proxy := fs.String("proxy", "", "egress proxy URL (http://user:pass@host:port)")
	base := fs.String("base-url", baseURL, "LinkedIn's web origin (the sandbox's URL to try it locally) (FIRSTMATE_LINKEDIN_URL)")
	recipes := fs.String("recipes", o.cfg.LinkedIn.Recipes, "a recipes file to probe instead of the built-in recipes (FIRSTMATE_LINKEDIN_RECIPES)")
	write := fs.Bool("write", false, "also run the writes: invite and message --profile, accept one invitation, withdraw one")
	profile := fs.String("profile", "", "a profile URL to read (and, with --write, to invite and message)")
	message := fs.String("message", "", "with --write: the message sent to --profile")
	company := fs.String("company", "", "a company page URL to read")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := o.parse(args); err != nil {
		return err
	}
	if strings.TrimSpace(*liAt) == "" {
		return errors.New("--li-at is required (see firstmate probe linkedin --help)")
	}
	rs, err := linkedin.LoadRecipes(*recipes)
	if err != nil {
		return err
	}
	d, err := linkedin.New(linkedin.Config{Recipes: rs, BaseURL: *base})
	if err != nil {
		return err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if *proxy != "" {
		pu, err := url.Parse(*proxy)
		if err != nil || pu.Host == "" || (pu.Scheme != "http" && pu.Scheme != "https" && pu.Scheme != "socks5") {
			return fmt.Errorf("--proxy %q is not a proxy URL (http://user:pass@host:port)", *proxy)
		}
		tr.Proxy = http.ProxyURL(pu)
	}
	cred := platform.Credentials{AuthType: platform.AuthCookies, UserAgent: *ua, Cookies: map[string]string{linkedin.CookieLiAt: *liAt}}
	if *jsid != "" {
		cred.Cookies[linkedin.CookieJSESSIONID] = *jsid
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	res := d.Probe(ctx, &http.Client{Transport: tr, Timeout: 30 * time.Second}, cred,
		linkedin.ProbeOptions{Write: *write, Profile: *profile, Message: *message, Company: *company})
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ACTION\tSTATUS\tRECIPE\tDETAIL")
		for _, r := range res {
			detail := r.Detail
			switch r.Status {
			case linkedin.ProbeChanged:
				detail = "missing " + r.MissingPath
			case linkedin.ProbeBroken:
				detail = strings.TrimSpace(fmt.Sprintf("%s %s: %s", r.Label, r.UpstreamStatus, r.Detail))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Action, r.Status, r.Recipe, detail)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	bad := 0
	for _, r := range res {
		if r.Status == linkedin.ProbeChanged || r.Status == linkedin.ProbeBroken {
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d LinkedIn actions changed or broke (recipes %s)", bad, len(res), rs.Version)
	}
	return nil
}
