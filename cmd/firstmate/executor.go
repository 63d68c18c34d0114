package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
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

const executorUsage = `usage: firstmate executor check URL --secret whsec_... [flags]

Runs the conformance kit against the remote executor at URL and prints what
passes. Exits non-zero when a case fails.`

// executorCmd is `firstmate executor check`.
func executorCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		return errors.New(executorUsage)
	}
	args = args[1:]
	fs := flag.NewFlagSet("executor check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	secret := fs.String("secret", "", "the executor's whsec_ secret")
	secretFile := fs.String("secret-file", "", "read the secret from this file instead (keeps it out of the process list)")
	deadline := fs.Duration("deadline", 30*time.Second, "deadline of each request")
	slow := fs.Duration("slow-deadline", 2*time.Second, "deadline of the slow request")
	maxPages := fs.Int("max-pages", 200, "pages followed per list before stopping")
	outreach := fs.Bool("outreach", false, "also run outreach actions (invitations, messages...) with made-up inputs: they act on the platform")
	casesFile := fs.String("cases", "", "JSON file of a conformance section, replacing the one the executor serves")
	// The URL may come before the flags: check URL --secret S.
	var target string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		target, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if target == "" && fs.NArg() > 0 {
		target = fs.Arg(0)
	}
	if target == "" {
		return errors.New(executorUsage)
	}
	if *secretFile != "" {
		b, err := os.ReadFile(*secretFile)
		if err != nil {
			return fmt.Errorf("read the secret: %w", err)
		}
		*secret = strings.TrimSpace(string(b))
	}
	if *secret == "" {
		return errors.New("--secret or --secret-file is required")
	}
	o := conformance.Options{URL: target, Secret: *secret, Deadline: *deadline, SlowDeadline: *slow, MaxPages: *maxPages, Outreach: *outreach}
	if *casesFile != "" {
		b, err := os.ReadFile(*casesFile)
		if err != nil {
			return fmt.Errorf("read the cases: %w", err)
		}
		o.Conformance = &executor.Conformance{}
		if err := json.Unmarshal(b, o.Conformance); err != nil {
			return fmt.Errorf("%s: %w", *casesFile, err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep := conformance.Run(ctx, o)
	rep.Write(stdout)
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
