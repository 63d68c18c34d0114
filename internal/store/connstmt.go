package store

import (
	"context"
	"database/sql/driver"
	"reflect"
	"sync"
)

// stmtConnector opens SQLite connections that keep a prepared statement per
// distinct SQL text. database/sql prepares nothing for ExecContext and
// QueryContext (the driver re-parses the SQL on every call), and a
// transaction cannot use the Read pool's stmtCache: sqlite3_prepare was 20%
// of the CPU of a live call, almost all of it inside write transactions.
// Caching at the connection covers every caller of the connection, in and
// out of transactions, River's included.
type stmtConnector struct {
	inner driver.Connector
	// begin, when set, is the statement that starts a read-write
	// transaction (it must match the DSN's _txlock): BEGIN, COMMIT and
	// ROLLBACK then run as cached statements too.
	begin string
	// failed, when set, hears of every statement that fails (health.go).
	failed func(error)
}

func (c stmtConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &stmtConn{inner: conn, begin: c.begin, failed: c.failed, stmts: map[string]*connStmt{}}, nil
}

func (c stmtConnector) Driver() driver.Driver { return c.inner.Driver() }

// maxConnStmts bounds one connection's statements: SQL with a variable shape
// (IN lists, multi-row INSERTs) would otherwise grow the cache without bound.
const maxConnStmts = 256

// stmtConn is one connection and its statements. database/sql never uses a
// connection from two goroutines at once; the mutex only keeps that from
// being a silent assumption.
type stmtConn struct {
	inner  driver.Conn
	begin  string
	failed func(error)
	mu     sync.Mutex
	stmts  map[string]*connStmt
	// inTx: a transaction is open on the connection (for Trips).
	inTx bool
}

// connStmt is a cached statement. A SQLite statement has one cursor: while
// rows read from it are open (busy), the same SQL runs unprepared instead of
// resetting the cursor under the reader.
type connStmt struct {
	st   driver.Stmt
	busy bool
}

// stmt returns the cached statement for query, preparing it, or nil when it
// is busy or cannot be cached (the caller then runs the SQL unprepared). A
// prepare error is returned as is: running the SQL unprepared would fail the
// same way.
func (c *stmtConn) stmt(ctx context.Context, query string) (*connStmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.stmts[query]; s != nil {
		if s.busy {
			return nil, nil
		}
		s.busy = true
		return s, nil
	}
	if len(c.stmts) >= maxConnStmts && !c.evictLocked() {
		return nil, nil
	}
	st, err := c.inner.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s := &connStmt{st: st, busy: true}
	c.stmts[query] = s
	return s, nil
}

// evictLocked drops one idle statement (map order: random enough to keep a
// hot statement most of the time without bookkeeping on every call).
func (c *stmtConn) evictLocked() bool {
	for q, s := range c.stmts {
		if !s.busy {
			_ = s.st.Close()
			delete(c.stmts, q)
			return true
		}
	}
	return false
}

func (c *stmtConn) done(s *connStmt) {
	c.mu.Lock()
	s.busy = false
	c.mu.Unlock()
}

func (c *stmtConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	noteStatement(ctx, query, c.inTx)
	res, err := c.exec(ctx, query, args)
	if err != nil && c.failed != nil {
		c.failed(err)
	}
	return res, err
}

func (c *stmtConn) exec(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.inner.(driver.ExecerContext).ExecContext(ctx, query, args)
	}
	defer c.done(s)
	return s.st.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *stmtConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	noteStatement(ctx, query, c.inTx)
	rows, err := c.query(ctx, query, args)
	if err != nil && c.failed != nil {
		c.failed(err)
	}
	return rows, err
}

func (c *stmtConn) query(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.inner.(driver.QueryerContext).QueryContext(ctx, query, args)
	}
	rows, err := s.st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.done(s)
		return nil, err
	}
	return &stmtRows{Rows: rows, release: func() { c.done(s) }}, nil
}

// PrepareContext hands database/sql a statement of its own (it closes it):
// explicit prepares bypass the cache.
func (c *stmtConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.inner.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &countedStmt{Stmt: st, c: c, query: query}, nil
}

// countedStmt is a statement prepared explicitly (the read pool's
// stmtCache), counted for Trips when it runs.
type countedStmt struct {
	driver.Stmt
	c     *stmtConn
	query string
}

func (s *countedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	noteStatement(ctx, s.query, s.c.inTx)
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *countedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	noteStatement(ctx, s.query, s.c.inTx)
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

func (c *stmtConn) Prepare(query string) (driver.Stmt, error) { return c.inner.Prepare(query) }

func (c *stmtConn) Begin() (driver.Tx, error) {
	return c.inner.Begin() //nolint:staticcheck // driver.Conn requires it; database/sql calls BeginTx
}

func (c *stmtConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	noteBegin(ctx)
	if c.begin == "" || opts.ReadOnly || opts.Isolation != driver.IsolationLevel(0) {
		tx, err := c.inner.(driver.ConnBeginTx).BeginTx(ctx, opts)
		if err != nil {
			return nil, err
		}
		c.inTx = true
		return innerTx{Tx: tx, c: c}, nil
	}
	if _, err := c.ExecContext(ctx, c.begin, nil); err != nil {
		return nil, err
	}
	c.inTx = true
	return &stmtTx{c: c, ctx: ctx}, nil
}

// innerTx is the driver's own transaction, which clears stmtConn.inTx when
// it ends.
type innerTx struct {
	driver.Tx
	c *stmtConn
}

func (t innerTx) Commit() error   { t.c.inTx = false; return t.Tx.Commit() }
func (t innerTx) Rollback() error { t.c.inTx = false; return t.Tx.Rollback() }

// stmtTx is a transaction begun by a cached BEGIN; it ends like the
// driver's own: a COMMIT that fails leaves no transaction open.
type stmtTx struct {
	c   *stmtConn
	ctx context.Context
}

func (t *stmtTx) Commit() error {
	t.c.inTx = false
	_, err := t.c.ExecContext(t.ctx, "commit", nil)
	if err != nil {
		// Still open when the COMMIT failed (e.g. interrupted): roll back.
		// When it is not, SQLite refuses the ROLLBACK, which changes nothing.
		_, _ = t.c.ExecContext(context.Background(), "rollback", nil)
	}
	return err
}

func (t *stmtTx) Rollback() error {
	t.c.inTx = false
	_, err := t.c.ExecContext(context.Background(), "rollback", nil)
	return err
}

func (c *stmtConn) Ping(ctx context.Context) error { return c.inner.(driver.Pinger).Ping(ctx) }

func (c *stmtConn) ResetSession(ctx context.Context) error {
	return c.inner.(driver.SessionResetter).ResetSession(ctx)
}

func (c *stmtConn) IsValid() bool { return c.inner.(driver.Validator).IsValid() }

// Close finalizes the statements first: SQLite keeps a connection with
// unfinalized statements open as a zombie.
func (c *stmtConn) Close() error {
	c.mu.Lock()
	for q, s := range c.stmts {
		_ = s.st.Close()
		delete(c.stmts, q)
	}
	c.mu.Unlock()
	return c.inner.Close()
}

// stmtRows frees its statement for reuse once closed, and passes the
// driver's column type information through.
type stmtRows struct {
	driver.Rows
	once    sync.Once
	release func()
}

func (r *stmtRows) Close() error {
	err := r.Rows.Close()
	r.once.Do(r.release)
	return err
}

func (r *stmtRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *stmtRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *stmtRows) ColumnTypeNullable(i int) (bool, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *stmtRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *stmtRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}
