package app

import (
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// stopListening stops a TCP listener without resetting a connection the
// kernel completed but the server has not accepted yet. Closing a listening
// socket resets the connections in its accept queue: a client that had
// connected and sent its request reads "connection reset by peer", not a
// refusal. On a busy machine the accepting goroutine can lag by
// milliseconds, so a node under traffic has such connections at any moment.
// So the listener stops only when its accept queue is empty (TCP_INFO's
// tcpi_unacked on a listening socket is the queue's length), with the
// check and the stop (shutdown, which ends the listening state as close
// does) in two system calls back to back. What remains is the microseconds
// between them. The wait for an empty queue is bounded by limit.
func stopListening(ln net.Listener, limit time.Duration) {
	defer ln.Close()
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return
	}
	for end := time.Now().Add(limit); ; {
		stopped, last := false, time.Now().After(end)
		cerr := rc.Control(func(fd uintptr) {
			info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
			if err != nil || info.Unacked == 0 || last {
				stopped = unix.Shutdown(int(fd), unix.SHUT_RD) == nil
			}
		})
		if cerr != nil || stopped || last {
			return
		}
		time.Sleep(time.Millisecond) // the accepting goroutine takes what is queued
	}
}
