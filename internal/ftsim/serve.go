package ftsim

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
)

// fileParams describe the file a peer serves and how it introduces itself.
type fileParams struct {
	Self      netip.AddrPort
	Supernode netip.AddrPort
	Username  string
	Network   string
	Hash      string
	Size      int64
}

// serveRequest answers a request head: a GET of a FastTrack target gets the
// file (206 for a satisfiable Range, else 200), anything else 404. It
// returns the status and the body bytes written.
func serveRequest(w io.Writer, h head, f fileParams) (status int, n int64, err error) {
	method, target, _, ok := requestLine(h.Start)
	p := responseParams{
		Status:    404,
		Self:      f.Self,
		Supernode: f.Supernode,
		Username:  f.Username,
		Network:   f.Network,
		Hash:      f.Hash,
		Size:      f.Size,
	}
	if ok && method == "GET" && isFastTrackPath(target) {
		p.Status = 200
		p.Start, p.End = 0, f.Size-1
		if rg := h.Headers.Get("Range"); rg != "" {
			if s, e, ok := parseRange(rg, f.Size); ok {
				p.Status, p.Start, p.End = 206, s, e
			}
		}
	}
	bw := bufio.NewWriter(w)
	if _, err := bw.Write(appendResponse(nil, p)); err != nil {
		return p.Status, 0, err
	}
	if p.Status == 200 || p.Status == 206 {
		n, err = writeBody(bw, p.Start, p.End)
		if err != nil {
			return p.Status, n, err
		}
	}
	return p.Status, n, bw.Flush()
}

// bodyResult is what readBody found.
type bodyResult struct {
	Status        int
	ContentLength int64 // -1 when the response has none
	Bytes         int64
	Intact        bool
}

// readResponse reads a response head and at most limit body bytes, checking
// them against the simulator's file.
func readResponse(br *bufio.Reader, limit int64) (head, bodyResult, error) {
	res := bodyResult{ContentLength: -1}
	h, err := readHead(br)
	if err != nil {
		return h, res, err
	}
	code, ok := statusLine(h.Start)
	if !ok {
		return h, res, fmt.Errorf("malformed HTTP status line %q", truncate(h.Start, 80))
	}
	res.Status = code
	if cl := h.Headers.Get("Content-Length"); cl != "" {
		v, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || v < 0 {
			return h, res, fmt.Errorf("malformed Content-Length %q", truncate(cl, 40))
		}
		res.ContentLength = v
	}
	var start int64
	if code == 206 {
		s, ok := contentRangeStart(h.Headers.Get("Content-Range"))
		if !ok {
			return h, res, fmt.Errorf("206 response without a usable Content-Range (%q)", truncate(h.Headers.Get("Content-Range"), 40))
		}
		start = s
	}
	want := limit
	if res.ContentLength >= 0 && res.ContentLength < want {
		want = res.ContentLength
	}
	res.Intact = true
	buf := make([]byte, 32<<10)
	for res.Bytes < want {
		m, err := br.Read(buf[:min(int64(len(buf)), want-res.Bytes)])
		if m > 0 {
			if !checkBody(buf[:m], start+res.Bytes) {
				res.Intact = false
			}
			res.Bytes += int64(m)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			res.Intact = false
			return h, res, fmt.Errorf("read body after %d bytes: %w", res.Bytes, err)
		}
	}
	if code != 200 && code != 206 {
		res.Intact = false
	}
	if res.ContentLength >= 0 && res.Bytes != res.ContentLength {
		res.Intact = false
		if res.ContentLength > limit {
			return h, res, fmt.Errorf("body of %d bytes exceeds the download limit of %d", res.ContentLength, limit)
		}
		return h, res, fmt.Errorf("body ended after %d of %d bytes", res.Bytes, res.ContentLength)
	}
	return h, res, nil
}
