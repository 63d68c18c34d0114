package chaos

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// Cluster is a private PostgreSQL cluster the suite starts on a free
// loopback port, so that it can restart it for real (the shared server at
// 5432 serves other tests). PostgreSQL refuses to run as root: when the
// suite runs as root, initdb, pg_ctl and the server run as the `postgres`
// user, in a directory that user owns.
type Cluster struct {
	bin  string // the directory of initdb and pg_ctl
	dir  string // owned by the cluster's user: data/, the socket, the log
	port int
	cred *syscall.Credential // nil: run as the current user
}

// pgBinDir finds initdb and pg_ctl: on PATH, in /usr/local/bin, or in
// Debian's /usr/lib/postgresql/<version>/bin.
func pgBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	cands := []string{"/usr/local/bin"}
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin"); len(m) > 0 {
		cands = append(cands, m[len(m)-1])
	}
	for _, d := range cands {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
				return d, nil
			}
		}
	}
	return "", fmt.Errorf("initdb and pg_ctl not found (PATH, /usr/local/bin, /usr/lib/postgresql/*/bin)")
}

// StartCluster runs initdb and starts the server. The server trusts local
// connections and skips fsync: the suite checks the nodes, not the disk,
// and a fast (clean) restart loses nothing without fsync.
func StartCluster(ctx context.Context) (*Cluster, error) {
	bin, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin}
	// Not t.TempDir: its parents are root's, 0700, which the postgres
	// user cannot traverse.
	if c.dir, err = os.MkdirTemp("", "fmchaos-pg-"); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			c.Remove()
			return nil, fmt.Errorf("running as root, and no postgres user to run PostgreSQL as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(c.dir, uid, gid); err != nil {
			c.Remove()
			return nil, err
		}
	}
	if err := os.Chmod(c.dir, 0o700); err != nil {
		c.Remove()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.Remove()
		return nil, err
	}
	c.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if err := c.run(ctx, "initdb", "-D", c.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		c.Remove()
		return nil, err
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200",
		c.port, c.dir)
	if err := c.run(ctx, "pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "server.log"), "-w", "-t", "60", "-o", opts, "start"); err != nil {
		c.Remove()
		return nil, err
	}
	if err := c.wait(ctx); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

// URL is the cluster's postgres database, by TCP.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Restart stops the server with the fast mode (open sessions are ended,
// as an operator's restart or a failover does) and starts it again with
// the same options, then waits until it answers. It returns how long the
// server was down.
func (c *Cluster) Restart(ctx context.Context) (time.Duration, error) {
	began := time.Now()
	// -l again: without it the new server would write to pg_ctl's output,
	// and keep it open after pg_ctl exits.
	if err := c.run(ctx, "pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "server.log"), "-w", "-t", "60", "-m", "fast", "restart"); err != nil {
		return 0, err
	}
	return time.Since(began), c.wait(ctx)
}

// Stop stops the server at once and removes its files.
func (c *Cluster) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = c.run(ctx, "pg_ctl", "-D", c.data(), "-w", "-m", "immediate", "stop")
	c.Remove()
}

// Remove removes the cluster's files.
func (c *Cluster) Remove() { os.RemoveAll(c.dir) }

// Log is the end of the server's log.
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
	return tail(string(b))
}

// wait waits until the server accepts a query.
func (c *Cluster) wait(ctx context.Context) error {
	db, err := sql.Open("pgx", c.URL())
	if err != nil {
		return err
	}
	defer db.Close()
	end := time.Now().Add(60 * time.Second)
	for {
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := db.QueryRowContext(qctx, "SELECT 1").Scan(new(int))
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("private PostgreSQL not answering: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// run runs one of the cluster's programs as the cluster's user.
func (c *Cluster) run(ctx context.Context, prog string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, prog), args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	// A file, not a pipe: a server started by pg_ctl that kept the pipe
	// open would make Run wait for it.
	out, err := os.CreateTemp("", "fmchaos-pgctl-")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(out.Name())
		return fmt.Errorf("%s %v: %w\n%s", prog, args, err, tail(string(b)))
	}
	return nil
}

// tail is the end of a log.
func tail(s string) string {
	if len(s) > 3000 {
		return s[len(s)-3000:]
	}
	return s
}
