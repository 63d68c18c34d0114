package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"
)

// proxiesList shows the egress proxy pool as the database has it: each
// proxy's country, redacted address, health and the identity it serves.
// It syncs the pool from FIRSTMATE_PROXY_POOL / FIRSTMATE_PROXY_POOL_FILE
// first, as a server start does.
func (c *cli) proxiesList(args []string) error {
	o := c.flags("proxies list", true)
	asJSON := o.fs.Bool("json", false, "print JSON")
	if err := o.parse(args); err != nil {
		return err
	}
	stdout := c.stdout
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	rows, err := a.Proxies.List(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if rows == nil {
			return json.NewEncoder(stdout).Encode([]any{})
		}
		return json.NewEncoder(stdout).Encode(rows)
	}
	if !a.Proxies.Enabled() {
		fmt.Fprintln(stdout, "no proxy pool configured: identities' traffic goes out directly")
		if len(rows) == 0 {
			return nil
		}
		fmt.Fprintln(stdout, "proxies recorded from an earlier configuration:")
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COUNTRY\tPROXY\tCONFIGURED\tHEALTH\tIDENTITY\tWORKSPACE\tLAST ERROR")
	for _, r := range rows {
		health := "healthy"
		if !r.Healthy {
			health = "unhealthy"
			if r.UnhealthyAt != nil {
				health += " since " + r.UnhealthyAt.Format(time.RFC3339)
			}
		}
		ident, ws := "-", "-"
		if r.IdentityUID != "" {
			ident, ws = r.IdentityUID, r.WorkspaceUID
			if r.Managed {
				ws += " (managed pool)"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%t\t%s\t%s\t%s\t%s\n", r.Country, r.Proxy, r.Configured, health, ident, ws, r.LastError)
	}
	return tw.Flush()
}
