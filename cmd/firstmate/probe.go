package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/platform/linkedin"
)

const probeUsage = `usage: firstmate probe linkedin --li-at VALUE [--jsessionid VALUE] [flags]

Runs every recipe of the LinkedIn session driver once with your own session and
prints, per action, whether LinkedIn's answers still have the shape the driver
needs: ok, changed (the missing path), broken (LinkedIn's status), or skipped.
Read-only unless --write. Exits 1 when an action changed or broke.`

// probeCmd is `firstmate probe linkedin`.
func probeCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "linkedin" {
		return errors.New(probeUsage)
	}
	fs := flag.NewFlagSet("probe linkedin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	liAt := fs.String("li-at", "", "the li_at cookie of a LinkedIn session (required)")
	jsid := fs.String("jsessionid", "", "the JSESSIONID cookie (without it, one is obtained as the web app does)")
	ua := fs.String("user-agent", "", "the user agent of the browser the session comes from")
	proxy := fs.String("proxy", "", "egress proxy URL (http://user:pass@host:port)")
	base := fs.String("base-url", linkedin.DefaultBaseURL, "LinkedIn's web origin (the sandbox's URL to try it locally)")
	recipes := fs.String("recipes", "", "a recipes file to probe instead of the built-in recipes")
	write := fs.Bool("write", false, "also run the writes: invite and message --profile, accept one invitation, withdraw one")
	profile := fs.String("profile", "", "a profile URL to read (and, with --write, to invite and message)")
	message := fs.String("message", "", "with --write: the message sent to --profile")
	company := fs.String("company", "", "a company page URL to read")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if strings.TrimSpace(*liAt) == "" {
		return errors.New("--li-at is required\n" + probeUsage)
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
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
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
