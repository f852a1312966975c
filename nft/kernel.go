package nft

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Kernel is the Firewall backed by the kernel's nftables over netlink. Each
// operation uses its own netlink socket; writes are serialised, reads run
// concurrently. It is safe for concurrent use.
type Kernel struct {
	netns  int // fd of the network namespace, 0 = the caller's
	log    *slog.Logger
	writeM sync.Mutex // serialises writes; guards elemConn
	closed atomic.Bool

	// elemConn is kept open for element writes: closing a netlink socket
	// after a batch that deleted elements waits for an RCU grace period in
	// the kernel (~10 ms), far longer than the write itself.
	elemConn *conn
	// loadBuf encodes LoadElements' batches (guarded by writeM).
	loadBuf elemBatch
	// noSetRetime: this kernel ignored a set's new default timeout once, so
	// Setup recreates such sets (guarded by writeM).
	noSetRetime bool
	// ignoreRetime (tests only) makes Setup's in-place timeout updates
	// have no effect, as on a kernel without set updates.
	ignoreRetime bool

	// applied is the ruleset of the last successful Setup, what Check
	// compares the kernel's table with.
	applied atomic.Pointer[ruleset]

	// beforeFlush, when set (tests only), may add messages to a Setup batch
	// just before it is sent.
	beforeFlush func(*nftables.Conn)
	// ignoreSetCount (tests only) makes Status count elements as on
	// kernels that do not report NFTA_SET_COUNT.
	ignoreSetCount bool
}

var _ Firewall = (*Kernel)(nil)

// Option configures Open.
type Option func(*Kernel)

// WithNetNS makes the Kernel work in the network namespace referred to by fd
// (for example an open /run/netns/NAME; fd 0 means the caller's namespace).
// The caller keeps the file open for as long as the Kernel is used.
func WithNetNS(fd int) Option { return func(k *Kernel) { k.netns = fd } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(k *Kernel) {
		if l != nil {
			k.log = l
		}
	}
}

// openCheckTimeout bounds the kernel check in Open.
const openCheckTimeout = 10 * time.Second

// Open returns a Kernel after checking that the kernel speaks nftables and
// that the caller may use it.
func Open(opts ...Option) (*Kernel, error) {
	k := &Kernel{log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(k)
	}
	if k.netns < 0 {
		return nil, fmt.Errorf("nft: invalid network namespace fd %d", k.netns)
	}
	ctx, cancel := context.WithTimeout(context.Background(), openCheckTimeout)
	defer cancel()
	if _, err := k.tablePresent(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// Close releases the Kernel's socket; the table stays as it is.
func (k *Kernel) Close() error {
	k.closed.Store(true)
	k.writeM.Lock()
	defer k.writeM.Unlock()
	k.dropElemConn()
	return nil
}

// elemConnBuf is the socket buffer size of elemConn: enough for element
// batches of some 80,000 elements; larger ones get a socket of their own.
const elemConnBuf = 16 << 20

// elementConn returns a socket for an element batch needing sndbuf/rcvbuf
// bytes, and a function to call when done; ok reports success of the batch
// (a socket that saw a failed batch is not reused). k.writeM is held.
func (k *Kernel) elementConn(ctx context.Context, sndbuf, rcvbuf int) (*conn, func(ok bool), error) {
	if sndbuf > elemConnBuf || rcvbuf > elemConnBuf {
		c, err := k.dial(ctx, false, sndbuf, rcvbuf)
		if err != nil {
			return nil, nil, err
		}
		return c, func(bool) { c.close() }, nil
	}
	if k.elemConn == nil {
		c, err := k.dial(ctx, false, elemConnBuf, elemConnBuf)
		if err != nil {
			return nil, nil, err
		}
		k.elemConn = c
	}
	return k.elemConn, func(ok bool) {
		if !ok {
			k.dropElemConn()
		}
	}, nil
}

// dropElemConn closes elemConn. k.writeM is held.
func (k *Kernel) dropElemConn() {
	if k.elemConn != nil {
		k.elemConn.close()
		k.elemConn = nil
	}
}

func (k *Kernel) check(ctx context.Context) error {
	if k.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

// table returns the table object used in requests.
func table() *nftables.Table {
	return &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}
}

// Socket buffer sizes: a whole batch is one sendmsg and must fit the send
// buffer; the kernel acknowledges every message of a batch, and the answers
// must fit the receive buffer or they are lost (ENOBUFS).
const (
	minSockBuf        = 4 << 20
	bytesPerElemOp    = 64   // generous: an IPv6 element with timeout is ~52 bytes
	bytesPerAck       = 2048 // truesize of one acknowledgement, generous
	bytesPerRuleOrSet = 4096
)

// conn is one netlink socket of the nftables family, used for one operation.
type conn struct {
	*nftables.Conn
	nl   *netlink.Conn // Conn's socket, for raw element batches (elembatch.go)
	stop func() bool
}

// close ends the operation's socket.
func (c *conn) close() {
	if c.stop != nil {
		c.stop()
	}
	_ = c.CloseLasting()
}

// dial opens a socket with send and receive buffers of at least sndbuf and
// rcvbuf bytes. When interruptible, cancelling ctx (or its deadline) aborts
// blocked reads; writes are not interruptible because the kernel applies a
// batch while it is sent and only the acknowledgements would be lost.
func (k *Kernel) dial(ctx context.Context, interruptible bool, sndbuf, rcvbuf int) (*conn, error) {
	var nl *netlink.Conn
	opts := []nftables.ConnOption{
		nftables.AsLasting(),
		nftables.WithSockOptions(func(c *netlink.Conn) error {
			nl = c
			if err := setBuffer(c, unix.SO_SNDBUFFORCE, max(sndbuf, minSockBuf), c.SetWriteBuffer); err != nil {
				return fmt.Errorf("set netlink send buffer: %w", err)
			}
			if err := setBuffer(c, unix.SO_RCVBUFFORCE, max(rcvbuf, minSockBuf), c.SetReadBuffer); err != nil {
				return fmt.Errorf("set netlink receive buffer: %w", err)
			}
			return nil
		}),
	}
	if k.netns > 0 {
		opts = append(opts, nftables.WithNetNSFd(k.netns))
	}
	nc, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("open netlink socket: %w", err)
	}
	c := &conn{Conn: nc, nl: nl}
	if interruptible && nl != nil {
		if d, ok := ctx.Deadline(); ok {
			_ = nl.SetDeadline(d)
		}
		c.stop = context.AfterFunc(ctx, func() { _ = nl.SetDeadline(time.Now()) })
	}
	return c, nil
}

// setBuffer raises a socket buffer with the privileged *FORCE option (which
// ignores net.core.[rw]mem_max) and falls back to the ordinary one.
func setBuffer(c *netlink.Conn, forceOpt int, n int, fallback func(int) error) error {
	rc, err := c.SyscallConn()
	if err == nil {
		var serr error
		cerr := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, forceOpt, n)
		})
		if cerr == nil && serr == nil {
			return nil
		}
	}
	return fallback(n)
}

// tablePresent reports whether table inet ftwall exists; it also detects a
// kernel without nftables and missing privileges.
func (k *Kernel) tablePresent(ctx context.Context) (bool, error) {
	if err := k.check(ctx); err != nil {
		return false, err
	}
	c, err := k.dial(ctx, true, 0, 0)
	if err != nil {
		return false, kernelError("connect to nftables", noNftables(err))
	}
	defer c.close()
	return tablePresentConn(ctx, c)
}

func tablePresentConn(ctx context.Context, c *conn) (bool, error) {
	_, err := c.ListTableOfFamily(TableName, nftables.TableFamilyINet)
	switch {
	case err == nil:
		return true, nil
	case isNotFound(err):
		return false, nil
	case ctx.Err() != nil:
		return false, fmt.Errorf("read table inet %s: %w", TableName, ctx.Err())
	}
	return false, kernelError("read table inet "+TableName, noNftables(err))
}

// noNftables maps the errors of a kernel without nf_tables to ErrNoNftables:
// no nfnetlink at all, or no nftables subsystem behind it.
func noNftables(err error) error {
	switch {
	case errors.Is(err, unix.EPROTONOSUPPORT), errors.Is(err, unix.EAFNOSUPPORT),
		errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.EINVAL):
		return fmt.Errorf("%w (%v)", ErrNoNftables, err)
	}
	return err
}
