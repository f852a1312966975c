package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/ftwall/ftwall/internal/lab"
)

// The ordinary services on the internet namespace's own addresses.
const (
	httpPort = 80
	dnsPort  = 53
	fileSize = 64 << 10
	filePath = "/report.pdf"
)

// Bounds of the ordinary exchanges.
const (
	httpTimeout   = 5 * time.Second
	udpTimeout    = time.Second
	udpAttempts   = 3
	lockDialLimit = 2 * time.Second
)

// dnsQuery is a DNS query for example.com/A: the shape of ordinary UDP.
func dnsQuery() []byte {
	return []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1}
}

// fileBody is the served file: fileSize bytes of text.
func fileBody() []byte {
	line := []byte("an ordinary file, nothing to do with FastTrack\n")
	b := bytes.Repeat(line, fileSize/len(line)+1)
	return b[:fileSize]
}

// ordinaryServers are a web server and DNS-like UDP echo servers in the
// internet namespace.
type ordinaryServers struct {
	http *http.Server
	ln   net.Listener
	dns  []*lab.Echo
	body []byte
}

func startOrdinary(internet *lab.NS, addrs []netip.Addr) (*ordinaryServers, error) {
	s := &ordinaryServers{body: fileBody()}
	ln, err := internet.ListenTCP("tcp", fmt.Sprintf(":%d", httpPort))
	if err != nil {
		return nil, fmt.Errorf("start the web server: %w", err)
	}
	s.ln = ln
	body := s.body
	s.http = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != filePath {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/pdf")
			_, _ = w.Write(body)
		}),
		ReadHeaderTimeout: httpTimeout,
		// Client errors (a reset, a timeout) are not the demo's news.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() { _ = s.http.Serve(ln) }()
	for _, a := range addrs {
		e, err := internet.StartEchoUDP(udpNetwork(a), netip.AddrPortFrom(a, dnsPort).String())
		if err != nil {
			s.close()
			return nil, fmt.Errorf("start the DNS-like UDP server: %w", err)
		}
		s.dns = append(s.dns, e)
	}
	return s, nil
}

func (s *ordinaryServers) close() {
	if s.http != nil {
		_ = s.http.Close()
	}
	for _, e := range s.dns {
		_ = e.Close()
	}
}

func udpNetwork(a netip.Addr) string {
	if a.Is4() {
		return "udp4"
	}
	return "udp6"
}

// download is the outcome of one plain HTTP download.
type download struct {
	URL    string
	Status string // e.g. "200 OK"; "" when no response came
	Bytes  int
	Intact bool
	Err    error
}

// httpGet downloads url from inside ns and compares the body with want.
func httpGet(ctx context.Context, ns *lab.NS, url string, want []byte) download {
	d := download{URL: url}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return ns.DialTCP(ctx, network, addr)
		},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, httpTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		d.Err = err
		return d
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		d.Err = err
		return d
	}
	defer resp.Body.Close()
	d.Status = resp.Status
	got, err := io.ReadAll(io.LimitReader(resp.Body, int64(len(want))+1))
	d.Bytes = len(got)
	d.Err = err
	d.Intact = err == nil && resp.StatusCode == http.StatusOK && bytes.Equal(got, want)
	return d
}

// describe is the narrative's account of a download.
func (d download) describe() string {
	switch {
	case d.Intact:
		return fmt.Sprintf("%s, %s intact", d.Status, sizeText(d.Bytes))
	case d.Status != "":
		return fmt.Sprintf("%s, %s, NOT the file (%v)", d.Status, sizeText(d.Bytes), d.Err)
	}
	return fmt.Sprintf("FAILED: %v", shortErr(d.Err))
}

// udpQuery sends a DNS-like query from ns to dst and waits for the answer,
// a few times when a datagram is lost.
func udpQuery(ctx context.Context, ns *lab.NS, dst netip.AddrPort) error {
	c, err := ns.DialUDP(netip.Addr{}, dst)
	if err != nil {
		return err
	}
	defer c.Close()
	var last error
	for range udpAttempts {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		if last = lab.RoundTrip(c, dnsQuery(), udpTimeout); last == nil {
			return nil
		}
	}
	return last
}

// Results of a TCP connect, as the narrative says them.
const (
	connOK      = "connected"
	connReset   = "refused (TCP reset)"
	connTimeout = "no answer (dropped)"
)

// tcpConnect connects from ns to dst and classifies the outcome.
func tcpConnect(ctx context.Context, ns *lab.NS, dst netip.AddrPort) string {
	ctx, cancel := context.WithTimeout(ctx, lockDialLimit)
	defer cancel()
	c, err := ns.DialTCP(ctx, "tcp", dst.String())
	switch {
	case err == nil:
		c.Close()
		return connOK
	case errors.Is(err, syscall.ECONNREFUSED):
		return connReset
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "i/o timeout"):
		return connTimeout
	}
	return "error: " + shortErr(err)
}

// shortErr is the last part of a wrapped error message: the cause.
func shortErr(err error) string {
	if err == nil {
		return "no error"
	}
	return lastPart(err.Error())
}

// lastPart is the text after the last ": " of an error message.
func lastPart(s string) string {
	if i := strings.LastIndex(s, ": "); i >= 0 && i+2 < len(s) {
		return s[i+2:]
	}
	return s
}

// sizeText writes a byte count the way people read it.
func sizeText(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d bytes", n)
}
