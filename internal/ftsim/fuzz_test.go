package ftsim

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect/fasttrack"
)

func FuzzParseMessage(f *testing.F) {
	f.Add(fasttrack.AppendPing(nil, "KaZaA"))
	f.Add(fasttrack.AppendSupernodePong(nil, "fileshare", 9))
	f.Add(fasttrack.AppendNodePong(nil, 1))
	f.Add(append(fasttrack.AppendNodePong(nil, 1), 1, 2, 3, 4, 5, 6, 7, 8))
	f.Add([]byte{0x27, 0, 0, 0, 0xa9, 0x80, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, ok := parseMessage(b)
		if !ok {
			return
		}
		switch m.Type {
		case TypePing:
			if len(b) != 7+len(m.Network) {
				t.Fatalf("ping of %d bytes with name %q", len(b), m.Network)
			}
			// Same bytes as the encoder's, but for the encryption type.
			enc := fasttrack.AppendPing(nil, m.Network)
			copy(enc[1:5], b[1:5])
			if !bytes.Equal(enc, b) {
				t.Fatalf("ping %x re-encodes as %x", b, enc)
			}
		case TypeSupernodePong:
			if len(b) != 12+len(m.Network) {
				t.Fatalf("pong of %d bytes with name %q", len(b), m.Network)
			}
		case TypeNodePong:
			if len(b) != 13 && len(b) != 21 {
				t.Fatalf("node pong of %d bytes", len(b))
			}
		default:
			t.Fatalf("type %s", m.Type)
		}
	})
}

func FuzzParseNodes(f *testing.F) {
	f.Add("198.51.100.1:1214, [2001:db8::1]:80 # x\n203.0.113.9:1")
	f.Add("[fe80::1%eth0]:1214")
	f.Fuzz(func(t *testing.T, s string) {
		nodes, err := ParseNodes(s)
		if err != nil {
			return
		}
		var b strings.Builder
		for _, n := range nodes {
			if !n.IsValid() || n.Port() == 0 || n.Addr().IsUnspecified() || n.Addr().Is4In6() {
				t.Fatalf("accepted %v", n)
			}
			b.WriteString(n.String() + "\n")
		}
		again, err := ParseNodes(b.String())
		if err != nil || len(again) != len(nodes) {
			t.Fatalf("printed list %q does not parse back: %v", b.String(), err)
		}
	})
}

func FuzzReadHead(f *testing.F) {
	f.Add([]byte("GET /.hash=" + DefaultHash + " HTTP/1.1\r\nHost: a\r\nUserAgent: KazaaClient\r\n\r\nbody"))
	f.Add([]byte("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 1-2/3\r\nContent-Length: 2\r\n\r\n\x00\x01"))
	f.Add([]byte("GIVE 1\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := readHead(bufio.NewReaderSize(bytes.NewReader(b), 4096))
		if err == nil {
			if !bytes.HasPrefix(b, []byte(h.Raw)) || h.Start == "" {
				t.Fatalf("head %+v from %q", h, b)
			}
			for _, f := range h.Headers {
				if !isToken(f.Name) || strings.ContainsAny(f.Name, " \t\r\n:") {
					t.Fatalf("header name %q", f.Name)
				}
			}
		}
		_, body, _ := readResponse(bufio.NewReader(bytes.NewReader(b)), 100)
		if body.Bytes > 100 || body.Bytes > int64(len(b)) {
			t.Fatalf("read %d body bytes from %d input bytes, limit 100", body.Bytes, len(b))
		}
		requestLine(h.Start)
		statusLine(h.Start)
		isFastTrackPath(requestTarget(h.Start))
	})
}

func FuzzParseRange(f *testing.F) {
	f.Add("bytes=0-", int64(10))
	f.Add("bytes=-5", int64(3))
	f.Add("bytes=9223372036854775807-", int64(9223372036854775807))
	f.Fuzz(func(t *testing.T, s string, size int64) {
		start, end, ok := parseRange(s, size)
		if ok && (start < 0 || start > end || end >= size) {
			t.Fatalf("parseRange(%q, %d) = %d-%d", s, size, start, end)
		}
		contentRangeStart(s)
	})
}

func FuzzParseGive(f *testing.F) {
	f.Add("GIVE 12345")
	f.Add("GIVE 4294967295")
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := parseGive(s)
		if ok && s != "GIVE "+strconv.FormatUint(uint64(id), 10) && !strings.HasPrefix(s, "GIVE 0") {
			t.Fatalf("parseGive(%q) = %d", s, id)
		}
	})
}

// FuzzNodeConn feeds arbitrary bytes to a node's connection handler: it must
// neither panic nor hang, and it must classify every connection.
func FuzzNodeConn(f *testing.F) {
	f.Add([]byte("GET /.hash=" + DefaultHash + " HTTP/1.1\r\nRange: bytes=10-20\r\n\r\n"))
	f.Add([]byte("GIVE 7\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"))
	f.Add([]byte("0123456789ab"))
	f.Add([]byte("GE"))
	f.Fuzz(func(t *testing.T, in []byte) {
		o, err := NodeOptions{IOTimeout: time.Second, BodySize: 100}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		n := &Node{opts: o, log: slog.New(slog.DiscardHandler), start: time.Now(), conns: map[net.Conn]struct{}{}}
		client, server := net.Pipe()
		go func() {
			client.Write(in)
			client.Close()
		}()
		go io.Copy(io.Discard, client)
		done := make(chan struct{})
		go func() {
			n.handle(server)
			server.Close()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("handler hangs on %q", in)
		}
		r := n.Report()
		if len(r.Conns) != 1 || r.Conns[0].Kind == "" {
			t.Fatalf("connection not classified: %+v", r.Conns)
		}
	})
}
