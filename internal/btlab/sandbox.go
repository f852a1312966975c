package btlab

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ftwall/ftwall/internal/lab"
)

// BootstrapNames are the DHT bootstrap host names the clients (or
// libtorrent inside qBittorrent) know by heart. Every program the rig
// starts sees them in a private /etc/hosts, mapped to the lab DHT node, and
// sees a resolv.conf pointing at 127.0.0.1 of its namespace (where nothing
// listens), so no name is ever looked up outside the lab.
var BootstrapNames = []string{
	"router.bittorrent.com", "router.utorrent.com", "dht.transmissionbt.com",
	"dht.libtorrent.org", "dht.aelitis.com", "router.bitcomet.com",
	"router.silotis.us", "dht.anacrolix.link",
}

// stopLimit bounds how long a program may take to exit after SIGTERM
// before it is killed (clients send "stopped" announces on the way out).
const stopLimit = 5 * time.Second

// sandboxScript runs inside a private mount namespace (unshare --mount,
// propagation private, so nothing leaks to the host): it bind-mounts the
// private hosts and resolv.conf files over /etc's and execs the program,
// which therefore keeps the process id StartProc saw.
const sandboxScript = `set -e
mount --bind "$1" /etc/hosts
if [ -e /etc/resolv.conf ]; then mount --bind "$2" /etc/resolv.conf; fi
shift 2
exec "$@"`

// process is one program run by the rig: a client, opentracker.
type process struct {
	name    string
	home    string
	logPath string
	log     *os.File
	proc    *lab.Proc

	mu      sync.Mutex
	stopped bool
}

// procSpec says what to run where.
type procSpec struct {
	ns    *lab.NS
	name  string       // for errors and logs
	home  string       // private HOME and XDG directories; the log file goes here
	hosts []netip.Addr // addresses BootstrapNames resolve to (none: unresolvable)
	path  string
	args  []string
	logs  []string // the program's own log files, shown when the test fails
}

// startProcess starts s.path in s.ns with a private /etc/hosts, an empty
// resolver and a private home, its output in <home>/<name>.log. t's
// cleanup stops it (SIGTERM, then SIGKILL after stopLimit) and, when t has
// failed, logs the end of its output.
func startProcess(t T, s procSpec) (*process, error) {
	t.Helper()
	p := &process{name: s.name, home: s.home, logPath: filepath.Join(s.home, s.name+".log")}
	etc := filepath.Join(s.home, "etc")
	for _, d := range []string{etc, filepath.Join(s.home, "tmp"), filepath.Join(s.home, "run")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	hostsFile, resolvFile := filepath.Join(etc, "hosts"), filepath.Join(etc, "resolv.conf")
	if err := os.WriteFile(hostsFile, []byte(hostsText(s.hosts)), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(resolvFile, []byte("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"), 0o644); err != nil {
		return nil, err
	}
	log, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	p.log = log
	env := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + s.home,
		"XDG_CONFIG_HOME=" + filepath.Join(s.home, ".config"),
		"XDG_DATA_HOME=" + filepath.Join(s.home, ".local", "share"),
		"XDG_CACHE_HOME=" + filepath.Join(s.home, ".cache"),
		"XDG_RUNTIME_DIR=" + filepath.Join(s.home, "run"),
		"TMPDIR=" + filepath.Join(s.home, "tmp"),
		"LANG=C.UTF-8",
	}
	args := append([]string{"--mount", "--propagation", "private", "--", "sh", "-c", sandboxScript, "sh", hostsFile, resolvFile, s.path}, s.args...)
	fmt.Fprintf(log, "# %s %s\n", s.path, strings.Join(s.args, " "))
	p.proc, err = lab.StartProc(s.ns, s.name, log, env, "unshare", args...)
	if err != nil {
		log.Close()
		return nil, err
	}
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Logf("%s: %v", p.name, err)
		}
		if t.Failed() {
			t.Logf("%s: end of %s:\n%s", p.name, p.logPath, tail(p.output(), 40))
			for _, l := range s.logs {
				b, _ := os.ReadFile(l)
				t.Logf("%s: end of %s:\n%s", p.name, l, tail(string(b), 60))
			}
		}
		p.log.Close()
	})
	return p, nil
}

// hostsText is a hosts file with localhost and BootstrapNames at addrs.
func hostsText(addrs []netip.Addr) string {
	var b strings.Builder
	b.WriteString("127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n")
	for _, a := range addrs {
		fmt.Fprintf(&b, "%s %s\n", a, strings.Join(BootstrapNames, " "))
	}
	return b.String()
}

// stop ends the program; idempotent. Its exit status after SIGTERM is
// not an error; having to kill it, or finding it ended before the first
// stop, is.
func (p *process) stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return nil
	}
	p.stopped = true
	wasRunning, err := p.proc.Stop(stopLimit)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &exit):
		return err // killed after stopLimit
	case wasRunning:
		return nil
	default:
		return fmt.Errorf("%s had exited before it was stopped: %w", p.name, err)
	}
}

// kill ends the program with SIGKILL; idempotent.
func (p *process) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	p.proc.Kill()
}

// output is everything the program wrote so far.
func (p *process) output() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// exited returns an error when the program has ended already.
func (p *process) exited() error {
	if p.proc.Running() {
		return nil
	}
	return fmt.Errorf("%s exited (%v):\n%s", p.name, p.proc.Err(), tail(p.output(), 20))
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
