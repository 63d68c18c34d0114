package app

import (
	"net"
	"syscall"
	"time"
	"unsafe"
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
			var info syscall.TCPInfo
			size := uint32(unsafe.Sizeof(info))
			_, _, errno := syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_INFO,
				uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&size)), 0)
			if errno != 0 || info.Unacked == 0 || last {
				stopped = syscall.Shutdown(int(fd), syscall.SHUT_RD) == nil
			}
		})
		if cerr != nil || stopped || last {
			return
		}
		time.Sleep(time.Millisecond) // the accepting goroutine takes what is queued
	}
}
