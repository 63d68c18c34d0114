package benchkit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a child process serving HTTP: the real firstmate binary, the
// simulator, or a helper (the calling program re-executed).
type Server struct {
	Name string
	Cmd  *exec.Cmd
	Base string // http://host:port
	Log  string
	done chan error
}

// FreeAddr picks a free loopback port. Another process could take it before
// the child binds it; on this box that race is theoretical.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// StartServer runs cmd (stdout and stderr to logPath) and waits until
// GET base+readyPath answers 200.
func StartServer(ctx context.Context, name string, cmd *exec.Cmd, addr, logPath, readyPath string) (*Server, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the bench
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s := &Server{Name: name, Cmd: cmd, Base: "http://" + addr, Log: logPath, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait(); logf.Close() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(s.Base + readyPath)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("%s exited before it was ready (%v); log:\n%s", name, err, Tail(logPath))
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("%s not ready after 60 s; log:\n%s", name, Tail(logPath))
		}
	}
}

func (s *Server) PID() int { return s.Cmd.Process.Pid }

// Stop asks the server to shut down gracefully, then kills it.
func (s *Server) Stop() {
	_ = s.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.Cmd.Process.Kill()
		<-s.done
	}
}

// Tail is the end of a log file.
func Tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// ProcMem reads VmRSS and VmHWM (peak resident set) of pid, in KiB.
func ProcMem(pid int) (rss, hwm int64, err error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var dst *int64
		switch {
		case strings.HasPrefix(line, "VmRSS:"):
			dst = &rss
		case strings.HasPrefix(line, "VmHWM:"):
			dst = &hwm
		default:
			continue
		}
		fields := strings.Fields(line) // "VmRSS:  12345 kB"
		if len(fields) >= 2 {
			*dst, _ = strconv.ParseInt(fields[1], 10, 64)
		}
	}
	if rss == 0 {
		return 0, 0, errors.New("no VmRSS in /proc/" + strconv.Itoa(pid) + "/status")
	}
	return rss, hwm, sc.Err()
}

// ProcCPU is the user+system CPU time pid has used so far.
func ProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("malformed /proc stat")
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// CommCPU is the user+system CPU time used so far by every process named
// comm (e.g. "postgres": the database's backends and workers). A process
// that exits takes its share with it.
func CommCPU(comm string) time.Duration {
	dirs, _ := os.ReadDir("/proc")
	var total time.Duration
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		name, err := os.ReadFile("/proc/" + d.Name() + "/comm")
		if err != nil || strings.TrimSpace(string(name)) != comm {
			continue
		}
		if c, err := ProcCPU(pid); err == nil {
			total += c
		}
	}
	return total
}

// BoxCPU reads the machine's busy and total CPU time so far (/proc/stat),
// so that a window's idle share can be told apart from saturation.
func BoxCPU() (busy, total time.Duration) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0
	}
	var sum, idle int64
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i >= 8 { // guest time is already counted in user time
			break
		}
		sum += n
		if i == 3 || i == 4 { // idle, iowait
			idle += n
		}
	}
	return time.Duration(sum-idle) * time.Second / clockTicks, time.Duration(sum) * time.Second / clockTicks
}

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100

// RSSSampler records the highest VmRSS of a process while it runs.
type RSSSampler struct {
	stopc chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	peak  int64
}

func SampleRSS(pid int, every time.Duration) *RSSSampler {
	s := &RSSSampler{stopc: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if rss, _, err := ProcMem(pid); err == nil {
				s.mu.Lock()
				s.peak = max(s.peak, rss)
				s.mu.Unlock()
			}
			select {
			case <-s.stopc:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Peak is the highest VmRSS so far, in KiB.
func (s *RSSSampler) Peak() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// Reset starts a new peak from the next sample.
func (s *RSSSampler) Reset() {
	s.mu.Lock()
	s.peak = 0
	s.mu.Unlock()
}

// Stop ends sampling and returns the peak VmRSS in KiB.
func (s *RSSSampler) Stop() int64 {
	close(s.stopc)
	s.wg.Wait()
	return s.Peak()
}

// BackendPIDs lists the PostgreSQL backends whose application_name is app
// (PostgresSchema names a run's sessions after its schema), so that a
// bench can count the database's CPU for its own sessions only, on a
// server other programs use too.
func BackendPIDs(ctx context.Context, base, app string) ([]int, error) {
	c, err := pgx.Connect(ctx, base)
	if err != nil {
		return nil, fmt.Errorf("list backends: %w", err)
	}
	defer c.Close(context.Background())
	rows, err := c.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, app)
	if err != nil {
		return nil, fmt.Errorf("list backends: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int])
}

// PIDsCPU is the CPU time the processes pids have used so far; a process
// that has exited counts for nothing.
func PIDsCPU(pids []int) time.Duration {
	var total time.Duration
	for _, pid := range pids {
		if c, err := ProcCPU(pid); err == nil {
			total += c
		}
	}
	return total
}
