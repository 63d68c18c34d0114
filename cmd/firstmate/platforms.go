package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/dataplane"
)

// platforms is `firstmate platforms`: the route of each platform family
// (FIRSTMATE_PLATFORM_<FAMILY>, as the server started with the same
// environment would resolve it), each executor's state, and, for every
// action, what serves it or why it is unavailable. It reads the
// configuration, asks each executor for its capabilities, and touches no
// data.
func (c *cli) platforms(args []string) error {
	o := c.flags("platforms", false)
	asJSON := o.fs.Bool("json", false, "print JSON")
	wait := o.fs.Duration("wait", 10*time.Second, "how long to wait for the executors' capabilities")
	if err := o.parse(args); err != nil {
		return err
	}
	plan, err := dataplane.NewPlan(o.cfg)
	if err != nil {
		return err
	}
	plane, err := dataplane.New(plan, dataplane.Deps{Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer plane.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *wait)
	defer cancel()
	plane.Refresh(ctx)
	actions := make([]dataplane.Availability, 0, len(catalog.All()))
	for _, a := range catalog.All() {
		actions = append(actions, plane.Describe(a))
	}
	if *asJSON {
		execs := plane.Executors()
		if execs == nil {
			execs = []dataplane.ExecutorStatus{}
		}
		return json.NewEncoder(c.stdout).Encode(map[string]any{"routes": plane.Routes(), "executors": execs,
			"actions": actions, "warnings": nonNil(plan.Warnings())})
	}
	w := c.stdout
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FAMILY\tROUTE\tKIND\tURL\tSETTING")
	for _, r := range plane.Routes() {
		set := r.Setting
		if r.Default {
			set += " (default)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Family, r.Driver, r.Kind, dash(r.URL), set)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, x := range plane.Executors() {
		if x.Reached {
			fmt.Fprintf(w, "\nexecutor %s: reached (%s)", x.URL, dash(x.Name))
		} else {
			fmt.Fprintf(w, "\nexecutor %s: NOT REACHED: %s", x.URL, x.Error)
		}
		if x.Reached && x.Error != "" {
			fmt.Fprintf(w, "; last refresh failed: %s", x.Error)
		}
		fmt.Fprintln(w)
	}
	for _, warn := range plan.Warnings() {
		fmt.Fprintf(w, "\nwarning: %s\n", warn)
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTION\tSERVED BY")
	for _, av := range actions {
		served := "UNAVAILABLE: " + av.Reason
		if av.Available {
			served = fmt.Sprintf("%s (%s)", av.Driver.Name, av.Driver.Kind)
			if av.Driver.Name == string(av.Driver.Kind) {
				served = av.Driver.Name
			}
		}
		fmt.Fprintf(tw, "%s\t%s\n", av.Slug, served)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
