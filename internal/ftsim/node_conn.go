package ftsim

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// handle serves one accepted connection, all of it within IOTimeout.
func (n *Node) handle(c net.Conn) {
	rec := NodeConn{From: addrPortOf(c.RemoteAddr()), To: localAP(c), AtMS: n.since()}
	c.SetDeadline(time.Now().Add(n.opts.IOTimeout))
	br := bufio.NewReaderSize(c, 4096)
	first, err := br.Peek(4)
	switch {
	case len(first) == 0:
		rec.Kind = ConnEmpty
		if err != nil && !errors.Is(err, io.EOF) {
			rec.Error = err.Error()
		}
	case bytes.Equal(first, []byte("GET ")):
		rec.Kind = ConnHTTP
		n.serveHTTP(c, br, rec)
	case bytes.Equal(first, []byte("GIVE")):
		rec.Kind = ConnGive
		n.pull(c, br, rec)
	case n.httpOnly:
		// A client's HTTP server takes no FastTrack sessions.
		rec.Kind = ConnOther
		rec.Error = fmt.Sprintf("not HTTP (starts %q): closed", first)
	default:
		var start [sessionClientBytes]byte
		got, err := io.ReadFull(br, start[:])
		rec.Bytes = got
		switch {
		case err == nil:
			rec.Kind = ConnSession
			n.session(c, br, &rec)
		default:
			rec.Kind = ConnOther
			rec.Error = fmt.Sprintf("%d bytes, not a FastTrack session start: %v", got, err)
		}
	}
	n.log.Debug("connection", "from", rec.From, "kind", rec.Kind, "err", rec.Error)
	n.mu.Lock()
	defer n.mu.Unlock()
	if rec.Kind == ConnSession {
		n.rep.Sessions++
	}
	if len(n.rep.Conns) < MaxRecords {
		n.rep.Conns = append(n.rep.Conns, rec)
	} else {
		n.rep.Dropped++
	}
}

// session plays the supernode's side of a FastTrack session after the
// client's 12-byte start: the 8-byte answer, then the node's network name
// (len(Network)+1 bytes, 6 for KaZaA; encrypted in a real session, random
// bytes here) in answer to the client's first encrypted message (its own
// network name), then a quiet but open connection that reads and counts
// whatever the client sends until the client closes it, IOTimeout (counted
// from the accept) or the node stops. A client that closes after the 8
// bytes (the Client model) ends the session at once.
func (n *Node) session(c net.Conn, br *bufio.Reader, rec *NodeConn) {
	rec.In = sessionClientBytes
	if err := sessionAnswer(c); err != nil {
		rec.Error = "answer the session start: " + err.Error()
		rec.End, rec.EndMS = n.sessionEnd(err), n.since()
		return
	}
	rec.Out = sessionServerBytes
	n.mu.Lock()
	n.rep.SessionsOpen++
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		n.rep.SessionsOpen--
		n.mu.Unlock()
	}()
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		select {
		case <-n.ending:
			c.SetDeadline(time.Now())
		case <-quit:
		}
	}()

	buf := make([]byte, 512)
	k, err := br.Read(buf)
	rec.In += k
	if k > 0 {
		name := randomBytes(len(n.opts.Network) + 1)
		if _, werr := c.Write(name); werr != nil {
			rec.Error = "send the network name: " + werr.Error()
			rec.End, rec.EndMS = n.sessionEnd(werr), n.since()
			return
		}
		rec.Out += len(name)
		rec.NetName = true
	}
	for err == nil {
		k, err = br.Read(buf)
		rec.In += k
	}
	rec.End, rec.EndMS = n.sessionEnd(err), n.since()
	if rec.End == EndError {
		rec.Error = "session: " + err.Error()
	}
}

// sessionEnd names how a node's session ended.
func (n *Node) sessionEnd(err error) string {
	select {
	case <-n.ending:
		return EndStopped
	default:
	}
	return connEnd(err)
}

// serveHTTP answers one HTTP request.
func (n *Node) serveHTTP(c net.Conn, br *bufio.Reader, rec NodeConn) {
	d := ServedDownload{From: rec.From, To: rec.To, AtMS: rec.AtMS}
	h, err := readHead(br)
	d.Request, d.Headers, d.Head = h.Start, h.Headers, h.Raw
	if err != nil {
		d.Error = "read request: " + err.Error()
	} else {
		d.Path = requestTarget(h.Start)
		d.FastTrack = isFastTrackPath(d.Path)
		d.Status, d.Bytes, err = serveRequest(c, h, fileParams{
			Self:      rec.To,
			Supernode: n.opts.Supernode,
			Username:  n.opts.Username,
			Network:   n.opts.Network,
			Hash:      strings.TrimPrefix(d.Path, "/.hash="),
			Size:      n.opts.BodySize,
		})
		if err != nil {
			d.Error = "send response: " + err.Error()
		}
	}
	n.log.Info("download served", "from", d.From, "path", d.Path, "status", d.Status, "bytes", d.Bytes, "err", d.Error)
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.rep.Downloads) < MaxRecords {
		n.rep.Downloads = append(n.rep.Downloads, d)
	} else {
		n.rep.Dropped++
	}
}

// pull takes a GIVE push: it sends a download request over the pushed
// connection and reads the file.
func (n *Node) pull(c net.Conn, br *bufio.Reader, rec NodeConn) {
	g := GiveDownload{From: rec.From, To: rec.To, AtMS: rec.AtMS}
	defer func() {
		n.log.Info("give", "from", g.From, "id", g.ID, "status", g.Status, "bytes", g.Bytes, "err", g.Error)
		n.mu.Lock()
		defer n.mu.Unlock()
		if len(n.rep.Gives) < MaxRecords {
			n.rep.Gives = append(n.rep.Gives, g)
		} else {
			n.rep.Dropped++
		}
	}()
	line, err := readLine(br, 64)
	if err != nil {
		g.Error = fmt.Sprintf("read GIVE line %q: %v", truncate(line, 40), err)
		return
	}
	id, ok := parseGive(strings.TrimRight(line, "\r\n"))
	if !ok {
		g.Error = fmt.Sprintf("malformed GIVE line %q", truncate(line, 40))
		return
	}
	g.ID = id
	req := appendRequest(nil, requestParams{
		Host:      rec.From,
		Path:      "/.hash=" + n.opts.Hash,
		Self:      rec.To,
		Supernode: n.opts.Supernode,
		Username:  n.opts.Username,
		Network:   n.opts.Network,
	})
	if _, err := c.Write(req); err != nil {
		g.Error = "send request: " + err.Error()
		return
	}
	h, body, err := readResponse(br, n.opts.MaxDownload)
	g.Headers, g.Status, g.Bytes, g.Intact = h.Headers, body.Status, body.Bytes, body.Intact
	if err != nil {
		g.Error = "response: " + err.Error()
	}
}
