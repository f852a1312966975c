package ctl

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Handler carries out one request. It runs in the connection's goroutine;
// the service hands the request to its control goroutine from there.
type Handler func(ctx context.Context, req Request) Response

// Server is the listening control socket of a run directory.
type Server struct {
	ln   *net.UnixListener
	path string
	log  *slog.Logger
	// uid is the only peer uid served (0, root; tests may set their own).
	uid atomic.Uint32
	wg  sync.WaitGroup
}

// connTimeout bounds one connection: reading the request, carrying it out
// and writing the response.
const connTimeout = 30 * time.Second

// Listen creates the control socket in the run directory of o (mode 0600),
// replacing a stale one: only the lock's owner listens.
func Listen(o *Owner, log *slog.Logger) (*Server, error) {
	path := SocketPath(o.dir)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove the stale control socket: %w", err)
	}
	old := unix.Umask(0o177)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	unix.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{ln: ln, path: path, log: log}, nil
}

// Path is the socket's path.
func (s *Server) Path() string { return s.path }

// Serve answers connections with h until ctx is done or Close; it returns
// after every connection finished.
func (s *Server) Serve(ctx context.Context, h Handler) {
	stop := context.AfterFunc(ctx, func() { s.ln.Close() })
	defer stop()
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Warn("control socket stopped accepting", "err", err)
			}
			break
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(ctx, c, h)
		}()
	}
	s.wg.Wait()
}

// Close stops listening and removes the socket.
func (s *Server) Close() error { return s.ln.Close() }

func (s *Server) serve(ctx context.Context, c *net.UnixConn, h Handler) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(connTimeout))
	uid, pid, err := peerCred(c)
	if err != nil {
		s.log.Warn("control socket: peer credentials not read", "err", err)
		return
	}
	if uid != s.uid.Load() {
		s.log.Warn("control socket: request refused, not root", "uid", uid, "pid", pid)
		writeResponse(c, Response{Error: "permission denied: the control socket serves root only"})
		return
	}
	var req Request
	dec := json.NewDecoder(io.LimitReader(bufio.NewReader(c), maxRequest))
	if err := dec.Decode(&req); err != nil {
		writeResponse(c, Response{Error: fmt.Sprintf("malformed request: %v", err)})
		return
	}
	if len(req.Addrs) > MaxAddrs {
		writeResponse(c, Response{Error: fmt.Sprintf("%d addresses in one request; at most %d", len(req.Addrs), MaxAddrs)})
		return
	}
	rctx, cancel := context.WithTimeout(ctx, connTimeout)
	defer cancel()
	writeResponse(c, h(rctx, req))
}

func writeResponse(c net.Conn, r Response) {
	b, err := json.Marshal(r)
	if err == nil {
		_, _ = c.Write(append(b, '\n'))
	}
}

// peerCred reads the connecting process's uid and pid (SO_PEERCRED).
func peerCred(c *net.UnixConn) (uid uint32, pid int32, err error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, 0, err
	}
	if cerr != nil {
		return 0, 0, cerr
	}
	return cred.Uid, cred.Pid, nil
}
