package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Ports of every NATS node on its core address.
const (
	NATSClientPort  = 4222
	NATSClusterPort = 6222
	NATSMonitorPort = 8222
)

// NATSClusterName is the cluster name in every node's configuration.
const NATSClusterName = "ftwall-lab"

// NATSReadyTimeout bounds StartNATSCluster's and Restart's wait for
// JetStream to be ready.
const NATSReadyTimeout = 30 * time.Second

const (
	maxNATSNodes = 9
	natsTailSize = 64 << 10 // output kept per node for errors and Output
	natsTailLns  = 40       // lines of it quoted in errors
)

// NATSRole is the namespace role of NATS node i (1-based): "nats1" … up to
// "nats9".
func NATSRole(i int) string { return "nats" + strconv.Itoa(i) }

func isNATSRole(s string) bool {
	rest, ok := strings.CutPrefix(s, "nats")
	return ok && len(rest) == 1 && rest[0] >= '1' && rest[0] <= '0'+maxNATSNodes
}

// NATSUser is one user of the servers' authorization block. Publish and
// Subscribe, when not empty, are the subjects the user may publish to and
// subscribe to (wildcards allowed); empty means no restriction.
type NATSUser struct {
	Name, Password     string
	Publish, Subscribe []string
}

// NATSOptions are optional settings of StartNATSCluster; the zero value is
// a cluster without authentication.
type NATSOptions struct {
	// Users, when not empty, are written to every node's authorization
	// block: clients must then log in as one of them.
	Users []NATSUser
}

// NATSCluster is a NATS JetStream cluster of nats-server processes, each
// in a namespace of its own attached to a Core network as IfCore with
// 192.0.2.x. Node i (0-based) is server "nats-<i+1>" in namespace role
// NATSRole(i+1).
type NATSCluster struct {
	core  *Core
	dir   string
	path  string     // nats-server binary
	outMu sync.Mutex // serialises the nodes' lines on out
	nodes []*natsNode

	mu        sync.Mutex // guards the nodes' proc and closed
	closed    bool
	closeOnce sync.Once
	closeErr  error
}

type natsNode struct {
	name string // server_name, nats-N
	ns   *NS
	addr netip.Addr
	conf string // config file
	tail *tailBuffer
	out  *lineWriter
	proc *Proc // nil before start
}

// NATSServerPath returns the nats-server binary: the one in PATH, else
// Debian's /usr/sbin/nats-server or /usr/bin/nats-server.
func NATSServerPath() (string, error) {
	if p, err := exec.LookPath("nats-server"); err == nil {
		return filepath.Abs(p)
	}
	for _, p := range []string{"/usr/sbin/nats-server", "/usr/bin/nats-server"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("nats-server not found in PATH, /usr/sbin or /usr/bin: install it (Debian: apt-get install nats-server)")
}

// NATSServerVersion runs `nats-server --version` and returns the version,
// e.g. "v2.9.10".
func NATSServerVersion() (string, error) {
	path, err := NATSServerPath()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w: %s", path, err, strings.TrimSpace(string(out)))
	}
	s := strings.TrimSpace(string(out))
	f := strings.Fields(s)
	if len(f) == 0 {
		return "", fmt.Errorf("%s --version printed nothing", path)
	}
	return f[len(f)-1], nil
}

// StartNATSCluster starts an n-node (1 to 9) NATS JetStream cluster on
// core: n namespaces made with core.NewNodeNS and attached as IfCore, a
// configuration dir/nats-<i>.conf per node (server_name nats-<i>, client
// port 4222, monitoring 8222 and cluster port 6222 on the node's core
// address, routes to all other nodes, JetStream stored in dir/node<i>),
// and one `nats-server -c` per namespace. With n = 1 there is no cluster
// block: one standalone JetStream server. The servers' output goes to out
// (nil: discarded), each line prefixed with the server name.
//
// It returns once every node's /healthz reports ok, which for a clustered
// JetStream server means it has a meta leader and is current with it, and
// all nodes name the same meta leader; if that takes longer than
// NATSReadyTimeout (or ctx ends), it returns an error with the servers'
// output. On error nothing is left running.
//
// The cluster is stopped by Close and by core.Close, whichever comes first.
// dir is left in place (use a t.TempDir()). One cluster per core: the node
// roles nats1… can exist once per core.
func StartNATSCluster(ctx context.Context, core *Core, n int, dir string, out io.Writer, opts NATSOptions) (*NATSCluster, error) {
	if n < 1 || n > maxNATSNodes {
		return nil, fmt.Errorf("NATS cluster of %d nodes: want 1 to %d", n, maxNATSNodes)
	}
	path, err := NATSServerPath()
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, errors.New("NATS cluster: no directory for configuration files and JetStream stores given")
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, fmt.Errorf("NATS cluster directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("NATS cluster directory: %w", err)
	}
	if out == nil {
		out = io.Discard
	}
	c := &NATSCluster{core: core, dir: dir, path: path}
	if err := core.onClose(c.Close); err != nil {
		return nil, fmt.Errorf("start NATS cluster: %w", err)
	}
	fail := func(err error) (*NATSCluster, error) {
		return nil, errors.Join(fmt.Errorf("start %d-node NATS cluster on core network %s: %w", n, core.NS.Name, err), c.Close())
	}
	for i := range n {
		ns, err := core.NewNodeNS(ctx, NATSRole(i+1))
		if err != nil {
			return fail(err)
		}
		node := &natsNode{name: fmt.Sprintf("nats-%d", i+1), ns: ns, tail: &tailBuffer{max: natsTailSize}}
		node.out = &lineWriter{mu: &c.outMu, w: out, prefix: node.name + ": "}
		c.nodes = append(c.nodes, node)
		if node.addr, err = core.Attach(ctx, ns, IfCore); err != nil {
			return fail(err)
		}
	}
	for i, node := range c.nodes {
		var routes []netip.Addr
		for j, other := range c.nodes {
			if j != i {
				routes = append(routes, other.addr)
			}
		}
		conf, err := natsConfig(node.name, node.addr, routes, filepath.Join(dir, fmt.Sprintf("node%d", i+1)), opts)
		if err != nil {
			return fail(err)
		}
		node.conf = filepath.Join(dir, fmt.Sprintf("nats-%d.conf", i+1))
		if err := os.WriteFile(node.conf, []byte(conf), 0o600); err != nil {
			return fail(fmt.Errorf("write NATS configuration: %w", err))
		}
	}
	c.mu.Lock()
	for i := range c.nodes {
		if err := c.startLocked(i); err != nil {
			c.mu.Unlock()
			return fail(err)
		}
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, NATSReadyTimeout)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		return fail(err)
	}
	return c, nil
}

// natsConfig renders one node's configuration file.
func natsConfig(name string, self netip.Addr, routes []netip.Addr, storeDir string, opts NATSOptions) (string, error) {
	var qerr error
	q := func(s string) string {
		v, err := confQuote(s)
		if err != nil && qerr == nil {
			qerr = err
		}
		return v
	}
	hostPort := func(a netip.Addr, port uint16) string { return netip.AddrPortFrom(a, port).String() }
	var b strings.Builder
	b.WriteString("# Written by ftwall's test lab (internal/lab): one node of a lab NATS cluster.\n")
	fmt.Fprintf(&b, "server_name: %s\n", q(name))
	fmt.Fprintf(&b, "listen: %s\n", q(hostPort(self, NATSClientPort)))
	fmt.Fprintf(&b, "http: %s\n", q(hostPort(self, NATSMonitorPort)))
	b.WriteString("logtime: true\n\n")
	fmt.Fprintf(&b, "jetstream {\n  store_dir: %s\n  max_memory_store: 64MB\n  max_file_store: 1GB\n}\n\n", q(storeDir))
	// A lone server runs JetStream standalone: nats-server refuses a
	// JetStream cluster without routes.
	if len(routes) > 0 {
		fmt.Fprintf(&b, "cluster {\n  name: %s\n  listen: %s\n  routes: [\n", q(NATSClusterName), q(hostPort(self, NATSClusterPort)))
		for _, r := range routes {
			fmt.Fprintf(&b, "    %s\n", q("nats-route://"+hostPort(r, NATSClusterPort)))
		}
		b.WriteString("  ]\n}\n")
	}
	if len(opts.Users) > 0 {
		b.WriteString("\nauthorization {\n  users: [\n")
		for _, u := range opts.Users {
			if u.Name == "" {
				return "", fmt.Errorf("NATS configuration for %s: a user has an empty name", name)
			}
			fmt.Fprintf(&b, "    {\n      user: %s\n      password: %s\n", q(u.Name), q(u.Password))
			if len(u.Publish) > 0 || len(u.Subscribe) > 0 {
				b.WriteString("      permissions: {\n")
				for _, p := range []struct {
					key      string
					subjects []string
				}{{"publish", u.Publish}, {"subscribe", u.Subscribe}} {
					if len(p.subjects) == 0 {
						continue
					}
					qs := make([]string, len(p.subjects))
					for i, s := range p.subjects {
						qs[i] = q(s)
					}
					fmt.Fprintf(&b, "        %s: [%s]\n", p.key, strings.Join(qs, ", "))
				}
				b.WriteString("      }\n")
			}
			b.WriteString("    }\n")
		}
		b.WriteString("  ]\n}\n")
	}
	if qerr != nil {
		return "", fmt.Errorf("NATS configuration for %s: %w", name, qerr)
	}
	return b.String(), nil
}

// confQuote quotes s as a NATS configuration string. Backslashes and
// double quotes are escaped; control characters, which the format cannot
// carry reliably, are refused.
func confQuote(s string) (string, error) {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			return "", fmt.Errorf("value %q: control characters are not allowed", s)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String(), nil
}

// startLocked starts node i's server; c.mu is held.
func (c *NATSCluster) startLocked(i int) error {
	node := c.nodes[i]
	p, err := StartProc(node.ns, node.name, io.MultiWriter(node.tail, node.out), nil, c.path, "-c", node.conf)
	if err != nil {
		return err
	}
	node.proc = p
	return nil
}

func (c *NATSCluster) node(i int) (*natsNode, error) {
	if i < 0 || i >= len(c.nodes) {
		return nil, fmt.Errorf("NATS node %d: the cluster has nodes 0 to %d", i, len(c.nodes)-1)
	}
	return c.nodes[i], nil
}

// Len is the number of nodes.
func (c *NATSCluster) Len() int { return len(c.nodes) }

// URLs returns every node's client URL, "nats://192.0.2.x:4222", in node
// order.
func (c *NATSCluster) URLs() []string {
	urls := make([]string, len(c.nodes))
	for i := range c.nodes {
		urls[i] = c.URL(i)
	}
	return urls
}

// URL returns node i's client URL.
func (c *NATSCluster) URL(i int) string {
	return "nats://" + netip.AddrPortFrom(c.nodes[i].addr, NATSClientPort).String()
}

// Addr returns node i's address on the core network.
func (c *NATSCluster) Addr(i int) netip.Addr { return c.nodes[i].addr }

// Name returns node i's server name, "nats-<i+1>".
func (c *NATSCluster) Name(i int) string { return c.nodes[i].name }

// NS returns node i's namespace (for Core.Cut, say).
func (c *NATSCluster) NS(i int) *NS { return c.nodes[i].ns }

// Running reports whether node i's server is running.
func (c *NATSCluster) Running(i int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.nodes[i].proc
	return p != nil && p.Running()
}

// Output returns the last output of node i's server (up to 64 KiB, across
// restarts).
func (c *NATSCluster) Output(i int) string { return c.nodes[i].tail.String() }

// Kill kills node i's server with SIGKILL and waits for it to exit; a node
// that is not running is left alone.
func (c *NATSCluster) Kill(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.nodes[i].proc; p != nil {
		p.Kill()
	}
}

// Restart stops node i's server if it runs (SIGTERM, then SIGKILL after
// 10 s), starts it again with the same configuration and JetStream store,
// and waits up to NATSReadyTimeout until it is ready as WaitReady(ctx, i)
// defines it (for which a majority of the cluster must be up).
func (c *NATSCluster) Restart(i int) error {
	node, err := c.node(i)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if p := node.proc; p != nil && p.Running() {
		if _, err := p.Stop(10 * time.Second); err != nil && !isExitError(err) {
			c.mu.Unlock()
			return fmt.Errorf("restart %s: %w", node.name, err)
		}
	}
	if c.closed {
		c.mu.Unlock()
		return fmt.Errorf("restart %s: the NATS cluster is closed", node.name)
	}
	err = c.startLocked(i)
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("restart %s: %w", node.name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), NATSReadyTimeout)
	defer cancel()
	if err := c.WaitReady(ctx, i); err != nil {
		return fmt.Errorf("restart %s: %w", node.name, err)
	}
	return nil
}

func isExitError(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee)
}

// Close stops every server (SIGTERM, SIGKILL after 10 s) and removes the
// nodes' namespaces. The configuration files and JetStream stores in dir
// stay. Close is idempotent; Core.Close calls it too.
func (c *NATSCluster) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.closed = true
		var errs []error
		var wg sync.WaitGroup
		var emu sync.Mutex
		for _, node := range c.nodes {
			if node.proc == nil {
				continue
			}
			wg.Go(func() {
				if _, err := node.proc.Stop(10 * time.Second); err != nil && !isExitError(err) {
					emu.Lock()
					errs = append(errs, fmt.Errorf("stop %s: %w", node.name, err))
					emu.Unlock()
				}
			})
		}
		wg.Wait()
		for _, node := range c.nodes {
			node.out.Flush()
			errs = append(errs, node.ns.Close())
		}
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

// Healthz asks node i's monitoring endpoint, /healthz, from namespace from
// (nil: the core namespace), whether the server is healthy: nil when it
// answers 200 with status ok, else an error with what it said.
func (c *NATSCluster) Healthz(ctx context.Context, from *NS, i int) error {
	node, err := c.node(i)
	if err != nil {
		return err
	}
	if from == nil {
		from = c.core.NS
	}
	code, body, err := httpGetIn(ctx, from, c.monitorURL(node, "/healthz"))
	if err != nil {
		return fmt.Errorf("%s healthz: %w", node.name, err)
	}
	var h struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	}
	if err := json.Unmarshal(body, &h); err != nil {
		return fmt.Errorf("%s healthz: HTTP %d, not JSON: %q", node.name, code, truncate(body, 200))
	}
	if code != http.StatusOK || h.Status != "ok" {
		return fmt.Errorf("%s healthz: HTTP %d, status %q: %s", node.name, code, h.Status, h.Error)
	}
	return nil
}

// MetaLeader returns the server name of the JetStream meta leader as node
// i sees it (/jsz, from the core namespace); "" while there is none.
func (c *NATSCluster) MetaLeader(ctx context.Context, i int) (string, error) {
	node, err := c.node(i)
	if err != nil {
		return "", err
	}
	code, body, err := httpGetIn(ctx, c.core.NS, c.monitorURL(node, "/jsz"))
	if err != nil {
		return "", fmt.Errorf("%s jsz: %w", node.name, err)
	}
	var j struct {
		Meta *struct {
			Leader string `json:"leader"`
		} `json:"meta_cluster"`
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("%s jsz: HTTP %d: %q", node.name, code, truncate(body, 200))
	}
	if err := json.Unmarshal(body, &j); err != nil {
		return "", fmt.Errorf("%s jsz: %w", node.name, err)
	}
	if j.Meta == nil {
		return "", nil
	}
	return j.Meta.Leader, nil
}

func (c *NATSCluster) monitorURL(node *natsNode, path string) string {
	return "http://" + netip.AddrPortFrom(node.addr, NATSMonitorPort).String() + path
}

// WaitReady polls, from the core namespace, until the given nodes (none
// given: every node whose server runs) report healthy on /healthz and name
// the same JetStream meta leader, one whose server runs, or ctx ends. (Right
// after Kill of the leader the others still report it and healthz ok until
// their election timeout, a few seconds.) Its error says what each
// node last reported and quotes their output. A node whose server has
// exited fails the wait at once.
func (c *NATSCluster) WaitReady(ctx context.Context, nodes ...int) error {
	if len(nodes) == 0 {
		for i := range c.nodes {
			if c.Running(i) {
				nodes = append(nodes, i)
			}
		}
		if len(nodes) == 0 {
			return errors.New("wait for NATS cluster: no server is running")
		}
	}
	for _, i := range nodes {
		if _, err := c.node(i); err != nil {
			return err
		}
	}
	start := time.Now()
	last := map[int]error{}
	for {
		ok := true
		for _, i := range nodes {
			if !c.Running(i) {
				return c.waitError(nodes, start, last, fmt.Errorf("%s exited: %v", c.nodes[i].name, c.procErr(i)))
			}
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			last[i] = c.Healthz(pctx, nil, i)
			cancel()
			ok = ok && last[i] == nil
		}
		if ok && len(c.nodes) == 1 {
			return nil // standalone: no meta group
		}
		if ok {
			leaders := map[string]bool{}
			for _, i := range nodes {
				pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				l, err := c.MetaLeader(pctx, i)
				cancel()
				if err == nil && l == "" {
					err = fmt.Errorf("%s knows no meta leader", c.nodes[i].name)
				}
				if err != nil {
					last[i], ok = err, false
				}
				leaders[l] = true
			}
			if ok && len(leaders) == 1 {
				leader := keys(leaders)[0]
				if c.runningByName(leader) {
					return nil
				}
				// Followers keep a dead leader until their election
				// timeout.
				last[nodes[0]] = fmt.Errorf("the meta leader %s is not running", leader)
			} else if ok {
				last[nodes[0]] = fmt.Errorf("nodes disagree on the meta leader: %v", keys(leaders))
			}
		}
		t := time.NewTimer(250 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return c.waitError(nodes, start, last, ctx.Err())
		case <-t.C:
		}
	}
}

// runningByName reports whether name is a node of the cluster whose
// server runs.
func (c *NATSCluster) runningByName(name string) bool {
	for i, n := range c.nodes {
		if n.name == name {
			return c.Running(i)
		}
	}
	return false
}

func (c *NATSCluster) procErr(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.nodes[i].proc; p != nil && !p.Running() {
		return p.Err()
	}
	return nil
}

func keys(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func (c *NATSCluster) waitError(nodes []int, start time.Time, last map[int]error, cause error) error {
	var b strings.Builder
	fmt.Fprintf(&b, "NATS JetStream not ready after %v", time.Since(start).Round(time.Millisecond))
	for _, i := range nodes {
		if err := last[i]; err != nil {
			fmt.Fprintf(&b, "; %v", err)
		}
	}
	b.WriteString(" (check the configuration files in " + c.dir + ")")
	for _, i := range nodes {
		fmt.Fprintf(&b, "\n--- %s (%s, %s) output, last lines ---\n%s", c.nodes[i].name, c.nodes[i].ns.Name, c.nodes[i].addr, lastLines(c.nodes[i].tail.String(), natsTailLns))
	}
	return fmt.Errorf("%s: %w", b.String(), cause)
}

// httpGetIn makes a GET request from inside ns (a new connection, no proxy,
// no keep-alive) and returns the status code and body (at most 1 MiB).
func httpGetIn(ctx context.Context, ns *NS, url string) (int, []byte, error) {
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return ns.Dial(ctx, nil, network, addr)
		},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, body, fmt.Errorf("read %s: %w", url, err)
	}
	return resp.StatusCode, body, nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

func lastLines(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "(no output)"
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("(%d earlier lines left out)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// tailBuffer keeps the last max bytes written to it (roughly: it trims to
// max once it holds twice that).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > 2*b.max {
		cut := len(b.buf) - b.max
		if i := bytes.IndexByte(b.buf[cut:], '\n'); i >= 0 {
			cut += i + 1
		}
		b.buf = append([]byte(nil), b.buf[cut:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf) > b.max {
		s := b.buf[len(b.buf)-b.max:]
		if i := bytes.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
		return string(s)
	}
	return string(b.buf)
}

// lineWriter writes whole lines to w, each with prefix, holding mu (shared
// by all nodes of a cluster, so their lines do not mix).
type lineWriter struct {
	mu      *sync.Mutex
	w       io.Writer
	prefix  string
	own     sync.Mutex
	partial []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.own.Lock()
	defer l.own.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.emit(l.partial[:i+1])
		l.partial = l.partial[i+1:]
	}
	if len(l.partial) == 0 {
		l.partial = nil
	}
	return len(p), nil
}

// Flush writes a last line without newline, if any.
func (l *lineWriter) Flush() {
	l.own.Lock()
	defer l.own.Unlock()
	if len(l.partial) > 0 {
		l.emit(append(l.partial, '\n'))
		l.partial = nil
	}
}

func (l *lineWriter) emit(line []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Errors of the log sink must not stop the server's output.
	_, _ = l.w.Write(append([]byte(l.prefix), line...))
}
