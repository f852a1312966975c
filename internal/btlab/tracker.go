package btlab

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ftwall/ftwall/internal/lab"
)

// TrackerPort is the tracker's TCP (HTTP) and UDP port.
const TrackerPort = 6969

// Tracker is opentracker in a lab namespace. Debian's build is IPv4-only
// (it binds, announces and returns IPv4 peers only) and has an access
// whitelist compiled in: it answers "Requested download is not authorized
// for use with this tracker" to any info hash not in its whitelist file.
type Tracker struct {
	Addr netip.AddrPort // TCP and UDP
	HTTP string         // http://<addr>/announce
	UDP  string         // udp://<addr>

	ns *lab.NS
	p  *process
}

// StartTracker starts opentracker in ns on addr (an IPv4 address of ns,
// e.g. the internet namespace's 203.0.113.2) port TrackerPort, TCP and UDP,
// serving the torrents infoHashes, and waits (at most 10 s) until it
// accepts HTTP connections. t's cleanup stops it.
func StartTracker(t T, ns *lab.NS, addr netip.Addr, infoHashes ...[20]byte) *Tracker {
	t.Helper()
	tr, err := startTracker(t, ns, addr, infoHashes)
	if err != nil {
		t.Fatalf("tracker: %v", err)
	}
	return tr
}

func startTracker(t T, ns *lab.NS, addr netip.Addr, infoHashes [][20]byte) (*Tracker, error) {
	if !addr.Is4() {
		return nil, fmt.Errorf("opentracker (Debian) is IPv4-only; got %s", addr)
	}
	ap := netip.AddrPortFrom(addr, TrackerPort)
	tr := &Tracker{Addr: ap, HTTP: "http://" + ap.String() + "/announce", UDP: "udp://" + ap.String(), ns: ns}
	// As root opentracker chroots to -d and drops to -u; the whitelist
	// path is read inside the chroot.
	home := filepath.Join(t.TempDir(), "opentracker")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return nil, err
	}
	if err := os.Chmod(home, 0o755); err != nil {
		return nil, err
	}
	var wl strings.Builder
	for _, ih := range infoHashes {
		fmt.Fprintf(&wl, "%x\n", ih)
	}
	if err := os.WriteFile(filepath.Join(home, "whitelist"), []byte(wl.String()), 0o644); err != nil {
		return nil, err
	}
	var err error
	tr.p, err = startProcess(t, procSpec{ns: ns, name: "opentracker", home: home, path: ProgOpentracker,
		args: []string{"-i", addr.String(), "-p", fmt.Sprint(TrackerPort), "-P", fmt.Sprint(TrackerPort),
			"-d", home, "-u", "nobody", "-w", "/whitelist"}})
	if err != nil {
		return nil, err
	}
	err = poll(t.Context(), 10*time.Second, func() (bool, error) {
		if err := tr.p.exited(); err != nil {
			return false, err
		}
		c, err := ns.DialTCP(t.Context(), "tcp4", ap.String())
		if err != nil {
			return false, nil
		}
		c.Close()
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("opentracker on %s: %w", ap, err)
	}
	return tr, nil
}

// Scrape asks the tracker (over HTTP, from inside its namespace) how many
// seeders (complete) and leechers (incomplete) it has for infoHash.
func (tr *Tracker) Scrape(ctx context.Context, infoHash [20]byte) (complete, incomplete int64, err error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	u := "http://" + tr.Addr.String() + "/scrape?info_hash=" + percentEncode(infoHash[:])
	body, err := httpGetIn(ctx, tr.ns, u)
	if err != nil {
		return 0, 0, err
	}
	v, err := bdecode(body)
	if err != nil {
		return 0, 0, fmt.Errorf("scrape reply %q: %w", body, err)
	}
	d, _ := v.(map[string]any)
	files, _ := d["files"].(map[string]any)
	f, _ := files[string(infoHash[:])].(map[string]any)
	complete, _ = f["complete"].(int64)
	incomplete, _ = f["incomplete"].(int64)
	return complete, incomplete, nil
}

// httpGetIn fetches u with connections opened inside ns.
func httpGetIn(ctx context.Context, ns *lab.NS, u string) ([]byte, error) {
	resp, err := httpClientIn(ns).Do(mustRequest(ctx, u))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %q", u, resp.Status, body)
	}
	return body, nil
}

func httpClientIn(ns *lab.NS) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return ns.Dial(ctx, nil, network, addr)
		},
		DisableKeepAlives: true,
		Proxy:             nil,
	}}
}

func mustRequest(ctx context.Context, u string) *http.Request {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		panic(err)
	}
	return req
}

// percentEncode encodes every byte as %XX (url.QueryEscape turns a space
// into '+', which opentracker does not decode in an info_hash).
func percentEncode(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		fmt.Fprintf(&s, "%%%02X", c)
	}
	return s.String()
}
