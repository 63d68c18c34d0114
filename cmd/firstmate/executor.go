package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/firstmate-oss/firstmate/internal/executor"
	"github.com/firstmate-oss/firstmate/internal/executor/conformance"
	"github.com/firstmate-oss/firstmate/internal/executor/simexec"
)

// executorCheck is `firstmate executor check`: the conformance kit against
// a remote executor.
func (c *cli) executorCheck(args []string) error {
	o := c.flags("executor check", false)
	o.envErr = nil // reads no setting
	secret := o.fs.String("secret", "", "the executor's whsec_ secret")
	secretFile := o.fs.String("secret-file", "", "read the secret from this file instead (keeps it out of the process list)")
	deadline := o.fs.Duration("deadline", 30*time.Second, "deadline of each request")
	slow := o.fs.Duration("slow-deadline", 2*time.Second, "deadline of the slow request")
	maxPages := o.fs.Int("max-pages", 200, "pages followed per list before stopping")
	outreach := o.fs.Bool("outreach", false, "also run outreach actions (invitations, messages...) with made-up inputs: they act on the platform")
	casesFile := o.fs.String("cases", "", "JSON file of a conformance section, replacing the one the executor serves")
	// The URL may come before the flags (check URL --secret S) or after
	// them (check --secret S URL).
	var target string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		target, args = args[0], args[1:]
	} else {
		o.maxArgs = 1
	}
	if err := o.parse(args); err != nil {
		return err
	}
	if target == "" && o.fs.NArg() > 0 {
		target = o.fs.Arg(0)
	}
	if target == "" {
		return errors.New("executor check needs the executor's URL (see firstmate executor check --help)")
	}
	if *secretFile != "" {
		b, err := os.ReadFile(*secretFile)
		if err != nil {
			return fmt.Errorf("read the secret: %w", err)
		}
		*secret = strings.TrimSpace(string(b))
	}
	if *secret == "" {
		return errors.New("--secret or --secret-file is required (see firstmate executor check --help)")
	}
	opt := conformance.Options{URL: target, Secret: *secret, Deadline: *deadline, SlowDeadline: *slow, MaxPages: *maxPages, Outreach: *outreach}
	if *casesFile != "" {
		b, err := os.ReadFile(*casesFile)
		if err != nil {
			return fmt.Errorf("read the cases: %w", err)
		}
		opt.Conformance = &executor.Conformance{}
		if err := json.Unmarshal(b, opt.Conformance); err != nil {
			return fmt.Errorf("%s: %w", *casesFile, err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep := conformance.Run(ctx, opt)
	rep.Write(c.stdout)
	if rep.Failed() {
		return fmt.Errorf("the executor fails %d of the conformance cases", rep.Count(conformance.Fail))
	}
	return nil
}

// simExecutor is what `firstmate sim --executor` adds to the simulator: the
// executor protocol over the sandbox families, on the same address.
func simExecutor(secret string, stdout io.Writer) (func(string, http.Handler) (http.Handler, error), error) {
	generated := secret == ""
	if generated {
		secret = executor.NewSecret()
	}
	if err := executor.CheckSecret(secret); err != nil {
		return nil, err
	}
	return func(base string, h http.Handler) (http.Handler, error) {
		fmt.Fprintf(stdout, "simulator listening on %s (point Firstmate at it with FIRSTMATE_SIM_URL)\n", base)
		fmt.Fprintf(stdout, "executor protocol: %s (families: %s)\n", base, strings.Join(simexec.Families, ", "))
		if generated {
			fmt.Fprintf(stdout, "executor secret (generated; set FIRSTMATE_SIM_EXECUTOR_SECRET to keep one): %s\n", secret)
		}
		return simexec.Mount(h, base, secret)
	}, nil
}
