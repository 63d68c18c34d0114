package benchkit

import (
	"context"
	"os/exec"
	"path/filepath"
)

// StartSim runs `firstmate sim` (zero added latency) as its own process, so
// that the server under test and a direct driver hit the same upstream.
func StartSim(ctx context.Context, bin, tmp string) (*Server, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "sim", "--addr", addr)
	cmd.Env = ChildEnv()
	Logf("starting the simulator on %s", addr)
	return StartServer(ctx, "simulator", cmd, addr, filepath.Join(tmp, "sim.log"), "/_sim/health")
}

// Firstmate is a `firstmate serve` process under test.
type Firstmate struct {
	*Server
	DataDir string
	DBURL   string // "" on SQLite
	// PprofAddr is set when the server was started with FIRSTMATE_PPROF_ADDR.
	PprofAddr string
}

// StartFirstmate runs `firstmate serve` on a fresh data dir (SQLite) or on
// dbURL (PostgreSQL), with extra environment (FIRSTMATE_SIM_URL...).
func StartFirstmate(ctx context.Context, bin, tmp, name, dbURL string, pprof bool, env ...string) (*Firstmate, error) {
	fm := &Firstmate{DataDir: filepath.Join(tmp, name+"-data"), DBURL: dbURL}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--data-dir", fm.DataDir, "--addr", addr}
	if dbURL != "" {
		args = append(args, "--database-url", dbURL)
	}
	env = ChildEnv(env...)
	if pprof {
		if fm.PprofAddr, err = FreeAddr(); err != nil {
			return nil, err
		}
		env = append(env, "FIRSTMATE_PPROF_ADDR="+fm.PprofAddr)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	Logf("%s: starting firstmate on %s", name, addr)
	fm.Server, err = StartServer(ctx, "firstmate", cmd, addr, filepath.Join(tmp, name+"-firstmate.log"), "/healthz")
	if err != nil {
		return nil, err
	}
	return fm, nil
}

// CreateWorkspace makes a workspace on this server's database.
func (fm *Firstmate) CreateWorkspace(ctx context.Context, bin, name, plan, email string) (Workspace, error) {
	return CreateWorkspace(ctx, bin, fm.DataDir, fm.DBURL, name, plan, email)
}
