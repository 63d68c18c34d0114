package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestDockerImage builds deploy/Dockerfile and starts the image on SQLite
// when a Docker daemon is reachable: the container answers /readyz and
// runs as the non-root user the Dockerfile names. Without a daemon (a
// machine with only the client, or none) it skips, saying why.
func TestDockerImage(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: building the image takes minutes")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker client on PATH: the image is not built")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("no Docker daemon reachable (docker info: %v: %s): the image is not built", err, strings.TrimSpace(string(out)))
	}
	docker := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	tag := "firstmate-test:" + hex.EncodeToString(b)
	docker("build", "-f", "../../deploy/Dockerfile", "-t", tag, "../..")
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
	if user := docker("image", "inspect", "--format", "{{.Config.User}}", tag); user != "65532:65532" {
		t.Errorf("image user %q, want the non-root 65532:65532", user)
	}
	id := docker("run", "-d", "-p", "127.0.0.1::8080", "-e", "FIRSTMATE_SECRET_KEY=k1:"+strings.Repeat("A", 43)+"=", tag)
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", id).Run() })
	addr := docker("port", id, "8080/tcp")
	if i := strings.Index(addr, "\n"); i > 0 {
		addr = addr[:i]
	}
	for end := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(end) {
			logs, _ := exec.Command("docker", "logs", id).CombinedOutput()
			t.Fatalf("the container never answered /readyz 200 (last: %v)\n%s", err, logs)
		}
	}
}
