package ftsim

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// download fetches /.hash=<Hash> from the HTTP peer with Kazaa request
// headers.
func (c *Client) download(ctx context.Context) DownloadResult {
	o := c.opts
	path := "/.hash=" + o.Hash
	r := DownloadResult{Target: o.HTTP, Request: "GET " + path + " HTTP/1.1", ContentLength: -1}
	t0 := time.Now()
	defer func() { r.MS = time.Since(t0).Milliseconds() }()
	conn, done, err := c.dialBounded(ctx, o.HTTP, t0)
	r.Result = dialResult(err)
	if err != nil {
		r.Error = "connect: " + err.Error()
		return r
	}
	defer done()

	req := appendRequest(nil, requestParams{
		Host:      o.HTTP,
		Path:      path,
		Self:      c.selfAddr(conn),
		Supernode: c.supernode(),
		Username:  o.Username,
		Network:   o.Network,
		Range:     o.Range,
	})
	if _, err := conn.Write(req); err != nil {
		r.Error = "send request: " + err.Error()
		return r
	}
	h, body, err := readResponse(bufio.NewReader(conn), o.MaxDownload)
	r.StatusLine, r.Headers = h.Start, h.Headers
	r.Status, r.ContentLength, r.Bytes, r.Intact = body.Status, body.ContentLength, body.Bytes, body.Intact
	if err != nil {
		r.Error = "response: " + err.Error()
	}
	c.log.Info("download", "target", o.HTTP, "status", r.Status, "bytes", r.Bytes, "err", r.Error)
	return r
}

// give pushes to the Give peer: "GIVE <id>", then serves the peer's GET on
// the same connection.
func (c *Client) give(ctx context.Context) GiveResult {
	o := c.opts
	r := GiveResult{Target: o.Give, ID: o.GiveID}
	t0 := time.Now()
	defer func() { r.MS = time.Since(t0).Milliseconds() }()
	conn, done, err := c.dialBounded(ctx, o.Give, t0)
	r.Result = dialResult(err)
	if err != nil {
		r.Error = "connect: " + err.Error()
		return r
	}
	defer done()

	if _, err := fmt.Fprintf(conn, "GIVE %d\r\n", o.GiveID); err != nil {
		r.Error = "send GIVE: " + err.Error()
		return r
	}
	h, err := readHead(bufio.NewReader(conn))
	r.Request, r.RequestHeaders = h.Start, h.Headers
	if err != nil {
		r.Error = "read the peer's request: " + err.Error()
		return r
	}
	status, n, err := serveRequest(conn, h, fileParams{
		Self:      c.selfAddr(conn),
		Supernode: c.supernode(),
		Username:  o.Username,
		Network:   o.Network,
		Hash:      strings.TrimPrefix(requestTarget(h.Start), "/.hash="),
		Size:      o.BodySize,
	})
	r.Status, r.Bytes = status, n
	if err != nil {
		r.Error = "serve: " + err.Error()
	}
	c.log.Info("give", "target", o.Give, "id", o.GiveID, "status", status, "bytes", n, "err", r.Error)
	return r
}

// selfAddr is the X-Kazaa-IP value: the connection's local address with the
// client's FastTrack port (the TCP source port when UDP is off).
func (c *Client) selfAddr(conn net.Conn) netip.AddrPort {
	local := addrPortOf(conn.LocalAddr())
	if p := c.Port(); p != 0 {
		return netip.AddrPortFrom(local.Addr(), p)
	}
	return local
}

// supernode is the X-Kazaa-SupernodeIP value: the option, else the node the
// client connected to (invalid = leave the header out).
func (c *Client) supernode() netip.AddrPort {
	if c.opts.Supernode.IsValid() {
		return c.opts.Supernode
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rep.Connected
}

// requestTarget returns the target of a request line ("" when malformed).
func requestTarget(line string) string {
	_, target, _, _ := requestLine(line)
	return target
}

// dialBounded connects to target for one HTTP exchange that must end within
// HTTPTimeout from t0 (connect included) or when ctx ends; done closes it.
func (c *Client) dialBounded(ctx context.Context, target netip.AddrPort, t0 time.Time) (net.Conn, func(), error) {
	dctx, cancel := context.WithTimeout(ctx, c.opts.HTTPTimeout)
	conn, err := c.opts.Net.DialContext(dctx, "tcp", target.String())
	if err != nil {
		cancel()
		return nil, nil, err
	}
	stop := context.AfterFunc(dctx, func() { conn.SetDeadline(time.Now()) })
	conn.SetDeadline(t0.Add(c.opts.HTTPTimeout))
	return conn, func() { stop(); conn.Close(); cancel() }, nil
}
