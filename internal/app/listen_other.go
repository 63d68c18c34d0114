//go:build !linux

package app

import (
	"net"
	"time"
)

// stopListening closes the listener (see listen_linux.go for what Linux
// does better).
func stopListening(ln net.Listener, _ time.Duration) { ln.Close() }
