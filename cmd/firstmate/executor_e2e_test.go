package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/executor"
)

// TestE2ESimExecutor: `firstmate sim --executor` serves the executor
// protocol beside the simulator, and `firstmate executor check` passes
// against it; with the wrong secret it fails, saying why, and exits
// non-zero.
func TestE2ESimExecutor(t *testing.T) {
	secret := executor.NewSecret()
	cmd := exec.Command(bin, "sim", "--addr", "127.0.0.1:0", "--executor")
	cmd.Env = cleanEnv("FIRSTMATE_SIM_EXECUTOR_SECRET=" + secret)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	stdout := readLines(out)
	go func() { <-stdout.eof; exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	url := stdout.wait(t, "executor banner", regexp.MustCompile(`^executor protocol: (http://127\.0\.0\.1:\d+) `))[1]
	if strings.Contains(stdout.String(), secret) {
		t.Fatal("a secret given in the environment is printed")
	}

	report, _ := runCmd(t, true, []string{"executor", "check", url, "--secret", secret, "--max-pages", "3", "--slow-deadline", "500ms", "--outreach"})
	for _, want := range []string{"PASS  capabilities", "PASS  signature: stale timestamp", "PASS  STATUS_404", "PASS  slow request", " 0 failed"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	report, errOut := runCmd(t, false, []string{"executor", "check", "--secret", executor.NewSecret(), url})
	if !strings.Contains(report, "FAIL  capabilities") || !strings.Contains(report, "signature") || !strings.Contains(errOut, "fails 1 of the conformance cases") {
		t.Errorf("wrong secret:\n%s\n%s", report, errOut)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("sim exited with %v", err)
		}
	case <-time.After(deadline):
		t.Fatal("sim did not exit")
	}
}

// A generated secret is printed, so that the operator can pass it on.
func TestE2ESimExecutorGeneratesASecret(t *testing.T) {
	cmd := exec.Command(bin, "sim", "--addr", "127.0.0.1:0", "--executor")
	cmd.Env = cleanEnv()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stdout := readLines(out)
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	m := stdout.wait(t, "secret", regexp.MustCompile(`executor secret \(generated.*\): (whsec_\S+)$`))
	if err := executor.CheckSecret(m[1]); err != nil {
		t.Fatal(err)
	}
	_, errOut := runCmd(t, false, []string{"sim", "--executor", "--executor-secret", "nope", "--addr", "127.0.0.1:0"})
	if !strings.Contains(errOut, "whsec_") {
		t.Fatalf("a bad secret: %s", errOut)
	}
}
