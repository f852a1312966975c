package ftsim

import (
	"bufio"
	"bytes"
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func TestIsFastTrackPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/.hash=" + DefaultHash:                  true,
		"/.hash=" + strings.ToUpper(DefaultHash): true,
		"/.hash=" + DefaultHash[:39]:             false,
		"/.hash=" + DefaultHash[:39] + "g":       false,
		"/1234/song.mp3":                         true,
		"/12a4/song.mp3":                         false,
		"/1234/":                                 false,
		"/.download/x":                           true,
		"/.supernode":                            true,
		"/.status":                               true,
		"/.network":                              true,
		"/.files":                                true,
		"/index.html":                            false,
		"":                                       false,
		"1234/x":                                 false,
	} {
		if got := isFastTrackPath(p); got != want {
			t.Errorf("isFastTrackPath(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestParseRange(t *testing.T) {
	type r struct {
		s, e int64
		ok   bool
	}
	for in, want := range map[string]r{
		"bytes=0-":      {0, 99, true},
		"bytes=10-19":   {10, 19, true},
		"bytes=10-500":  {10, 99, true},
		"bytes=-10":     {90, 99, true},
		"bytes=-500":    {0, 99, true},
		"bytes=100-":    {0, 0, false},
		"bytes=20-10":   {0, 0, false},
		"bytes=0-1,3-4": {0, 0, false},
		"bytes=-":       {0, 0, false},
		"bytes=-0":      {0, 0, false},
		"items=0-1":     {0, 0, false},
		"bytes=a-b":     {0, 0, false},
	} {
		s, e, ok := parseRange(in, 100)
		if (r{s, e, ok}) != want {
			t.Errorf("parseRange(%q) = %d,%d,%v; want %+v", in, s, e, ok, want)
		}
	}
}

func TestParseGive(t *testing.T) {
	for in, want := range map[string]int64{
		"GIVE 12345":      12345,
		"GIVE 0":          0,
		"GIVE 4294967295": 4294967295,
		"GIVE 4294967296": -1,
		"GIVE ":           -1,
		"GIVE 12a":        -1,
		"GIVE -1":         -1,
		"give 1":          -1,
		"GIVE 1 ":         -1,
	} {
		id, ok := parseGive(in)
		if (want < 0 && ok) || (want >= 0 && (!ok || int64(id) != want)) {
			t.Errorf("parseGive(%q) = %d,%v; want %d", in, id, ok, want)
		}
	}
}

// The request is exactly the Kazaa layout and valid HTTP for net/http.
func TestAppendRequest(t *testing.T) {
	req := appendRequest(nil, requestParams{
		Host:      netip.MustParseAddrPort("198.51.100.7:1214"),
		Path:      "/.hash=" + DefaultHash,
		Self:      netip.MustParseAddrPort("10.0.1.2:3456"),
		Supernode: netip.MustParseAddrPort("198.51.100.9:1214"),
		Username:  "alice",
		Network:   "KaZaA",
	})
	want := "GET /.hash=" + DefaultHash + " HTTP/1.1\r\nHost: 198.51.100.7:1214\r\nUserAgent: KazaaClient Nov  3 2002 20:29:03\r\n" +
		"X-Kazaa-Username: alice\r\nX-Kazaa-Network: KaZaA\r\nX-Kazaa-IP: 10.0.1.2:3456\r\nX-Kazaa-SupernodeIP: 198.51.100.9:1214\r\nConnection: close\r\n\r\n"
	if string(req) != want {
		t.Fatalf("request:\n%q\nwant\n%q", req, want)
	}
	hr, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(req)))
	if err != nil {
		t.Fatal(err)
	}
	if hr.Header.Get("X-Kazaa-SupernodeIP") != "198.51.100.9:1214" || hr.Header.Get("UserAgent") != KazaaAgent {
		t.Errorf("net/http sees %v", hr.Header)
	}
	h, err := readHead(bufio.NewReader(bytes.NewReader(req)))
	if err != nil || h.Raw != want || h.Headers[1].Name != "UserAgent" || h.Headers.Get("x-kazaa-ip") != "10.0.1.2:3456" {
		t.Fatalf("readHead: %+v %v", h, err)
	}
}

func TestServeAndReadResponse(t *testing.T) {
	f := fileParams{Self: netip.MustParseAddrPort("198.51.100.7:1214"), Username: "bob", Network: "KaZaA", Hash: DefaultHash, Size: 100000}
	for _, tc := range []struct {
		req    string
		status int
		bytes  int64
	}{
		{"GET /.hash=" + DefaultHash + " HTTP/1.1", 200, 100000},
		{"GET /17/a.mp3 HTTP/1.1\r\nRange: bytes=1000-1999", 206, 1000},
		{"GET /17/a.mp3 HTTP/1.1\r\nRange: bytes=-10", 206, 10},
		{"GET /17/a.mp3 HTTP/1.1\r\nRange: bytes=999999-", 200, 100000},
		{"GET /index.html HTTP/1.1", 404, 0},
		{"POST /.hash=" + DefaultHash + " HTTP/1.1", 404, 0},
	} {
		h, err := readHead(bufio.NewReader(strings.NewReader(tc.req + "\r\n\r\n")))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		status, n, err := serveRequest(&out, h, f)
		if err != nil || status != tc.status || n != tc.bytes {
			t.Errorf("%q: served %d %d %v", tc.req, status, n, err)
			continue
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out.Bytes())), nil)
		if err != nil || resp.StatusCode != tc.status || resp.ContentLength != tc.bytes || resp.Header.Get("Server") != KazaaAgent || resp.Header.Get("X-Kazaa-IP") != "198.51.100.7:1214" {
			t.Errorf("%q: net/http reads %+v %v", tc.req, resp, err)
		}
		rh, body, err := readResponse(bufio.NewReader(bytes.NewReader(out.Bytes())), 1<<20)
		if err != nil || body.Status != tc.status || body.Bytes != tc.bytes || body.Intact != (tc.status < 300) {
			t.Errorf("%q: readResponse %+v %v", tc.req, body, err)
		}
		if tc.status < 300 && rh.Headers.Get("X-KazaaTag") == "" {
			t.Errorf("%q: no X-KazaaTag", tc.req)
		}
	}
}

func TestReadResponseDetectsDamage(t *testing.T) {
	f := fileParams{Self: netip.MustParseAddrPort("198.51.100.7:1214"), Username: "u", Network: "KaZaA", Hash: DefaultHash, Size: 1000}
	h, _ := readHead(bufio.NewReader(strings.NewReader("GET /1/x HTTP/1.1\r\n\r\n")))
	var out bytes.Buffer
	if _, _, err := serveRequest(&out, h, f); err != nil {
		t.Fatal(err)
	}
	full := out.Bytes()
	damaged := append([]byte(nil), full...)
	damaged[len(damaged)-10] ^= 0xff
	if _, body, err := readResponse(bufio.NewReader(bytes.NewReader(damaged)), 1<<20); err != nil || body.Intact {
		t.Errorf("damaged body: %+v %v", body, err)
	}
	if _, body, err := readResponse(bufio.NewReader(bytes.NewReader(full[:len(full)-10])), 1<<20); err == nil || body.Intact || body.Bytes != 990 {
		t.Errorf("short body: %+v %v", body, err)
	}
	if _, body, err := readResponse(bufio.NewReader(bytes.NewReader(full)), 500); err == nil || body.Bytes != 500 {
		t.Errorf("over the limit: %+v %v", body, err)
	}
}

func TestReadHeadLimits(t *testing.T) {
	for name, in := range map[string]string{
		"long line":     "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", maxLineBytes) + "\r\n\r\n",
		"many lines":    "GET / HTTP/1.1\r\n" + strings.Repeat("X: y\r\n", maxHeaderLines+1) + "\r\n",
		"no colon":      "GET / HTTP/1.1\r\nfoo\r\n\r\n",
		"space in name": "GET / HTTP/1.1\r\nX Y: z\r\n\r\n",
		"CR in name":    "0\n\r:\n\n",
		"empty name":    "GET / HTTP/1.1\r\n: z\r\n\r\n",
		"unterminated":  "GET / HTTP/1.1\r\nX: y\r\n",
		"empty start":   "\r\n",
	} {
		if _, err := readHead(bufio.NewReader(strings.NewReader(in))); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
