package btlab

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// DefaultSize is the payload size when TorrentOptions.Size is 0: big enough
// for many packets each way, small enough to move in about a second.
const DefaultSize = 4 << 20

// TorrentOptions describe a test payload and its .torrent.
type TorrentOptions struct {
	Size            int64    // payload bytes, random; 0: DefaultSize
	Name            string   // payload file name; "": "payload.bin"
	Announce        []string // tracker URLs, one tier each; none: a trackerless (DHT-only) torrent
	Private         bool     // the private flag (no DHT, no PEX); off for DHT scenarios
	PieceLengthLog2 int      // piece length 2^n bytes; 0: 18 (256 KiB)
}

// Torrent is a single-file torrent whose complete payload lies in Dir (a
// seeder's download directory).
type Torrent struct {
	Path        string // the .torrent file
	Dir         string // directory holding the complete payload, Dir/Name
	Name        string // payload file name (the info dictionary's name)
	Size        int64
	PieceLength int64
	InfoHash    [20]byte
	Announce    []string         // tracker URLs in order (announce-list flattened)
	Nodes       []netip.AddrPort // the "nodes" key (BEP 5 trackerless torrents)
	Private     bool

	pieces [][20]byte
	meta   map[string]any // the decoded file, for rewriting
}

// MakeTorrent writes a random payload of opts.Size bytes into a new
// directory of t and makes its .torrent with mktorrent(1).
func MakeTorrent(t T, opts TorrentOptions) *Torrent {
	t.Helper()
	tor, err := makeTorrent(t.Context(), t.TempDir(), opts)
	if err != nil {
		t.Fatalf("make torrent: %v", err)
	}
	return tor
}

func makeTorrent(ctx context.Context, dir string, opts TorrentOptions) (*Torrent, error) {
	if opts.Size == 0 {
		opts.Size = DefaultSize
	}
	if opts.Name == "" {
		opts.Name = "payload.bin"
	}
	if opts.PieceLengthLog2 == 0 {
		opts.PieceLengthLog2 = 18
	}
	seed := filepath.Join(dir, "seed")
	if err := os.MkdirAll(seed, 0o755); err != nil {
		return nil, err
	}
	data := filepath.Join(seed, opts.Name)
	if err := writeRandom(data, opts.Size); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "payload.torrent")
	args := []string{"-d", "-l", strconv.Itoa(opts.PieceLengthLog2), "-t", "2", "-o", path}
	for _, a := range opts.Announce {
		args = append(args, "-a", a)
	}
	if opts.Private {
		args = append(args, "-p")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, ProgMktorrent, append(args, data)...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mktorrent %v: %w: %s", args, err, out)
	}
	return LoadTorrent(path, seed)
}

func writeRandom(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LoadTorrent reads a single-file .torrent; dir is where its complete
// payload lies (for Torrent.Dir).
func LoadTorrent(path, dir string) (*Torrent, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v, err := bdecode(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	meta, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: not a dictionary", path)
	}
	infoRaw, err := dictRaw(raw, "info")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	info, _ := meta["info"].(map[string]any)
	tor := &Torrent{Path: path, Dir: dir, InfoHash: sha1.Sum(infoRaw), meta: meta}
	var okName, okLen, okPL bool
	tor.Name, okName = info["name"].(string)
	tor.Size, okLen = info["length"].(int64)
	tor.PieceLength, okPL = info["piece length"].(int64)
	pieces, _ := info["pieces"].(string)
	if !okName || !okLen || !okPL || tor.PieceLength <= 0 || len(pieces)%20 != 0 ||
		int64(len(pieces)/20) != (tor.Size+tor.PieceLength-1)/tor.PieceLength {
		return nil, fmt.Errorf("%s: not a single-file torrent this rig understands", path)
	}
	for i := 0; i < len(pieces); i += 20 {
		tor.pieces = append(tor.pieces, [20]byte([]byte(pieces[i:i+20])))
	}
	if p, _ := info["private"].(int64); p == 1 {
		tor.Private = true
	}
	tor.Announce = announceURLs(meta)
	if nodes, ok := meta["nodes"].([]any); ok {
		for _, n := range nodes {
			l, _ := n.([]any)
			if len(l) != 2 {
				continue
			}
			host, _ := l[0].(string)
			port, _ := l[1].(int64)
			if a, err := netip.ParseAddr(host); err == nil && port > 0 && port < 65536 {
				tor.Nodes = append(tor.Nodes, netip.AddrPortFrom(a, uint16(port)))
			}
		}
	}
	return tor, nil
}

func announceURLs(meta map[string]any) []string {
	var urls []string
	seen := map[string]bool{}
	add := func(u string) {
		if u != "" && !seen[u] {
			seen[u] = true
			urls = append(urls, u)
		}
	}
	if tiers, ok := meta["announce-list"].([]any); ok {
		for _, tier := range tiers {
			l, _ := tier.([]any)
			for _, u := range l {
				s, _ := u.(string)
				add(s)
			}
		}
	}
	if s, ok := meta["announce"].(string); ok {
		add(s)
	}
	return urls
}

// InfoHashHex is the info hash in lower-case hex.
func (tor *Torrent) InfoHashHex() string { return hex.EncodeToString(tor.InfoHash[:]) }

// DataPath is the complete payload file, Dir/Name.
func (tor *Torrent) DataPath() string { return filepath.Join(tor.Dir, tor.Name) }

// Pieces is the number of pieces.
func (tor *Torrent) Pieces() int { return len(tor.pieces) }

// Variant writes a copy of the .torrent to path with other trackers (one
// tier each; none: trackerless) and DHT nodes (the "nodes" key; none: no
// key). The info dictionary, and so the info hash, stay the same.
func (tor *Torrent) Variant(path string, announce []string, nodes []netip.AddrPort) (*Torrent, error) {
	meta := map[string]any{}
	for k, v := range tor.meta {
		switch k {
		case "announce", "announce-list", "nodes":
		default:
			meta[k] = v
		}
	}
	if len(announce) > 0 {
		meta["announce"] = announce[0]
		tiers := []any{}
		for _, a := range announce {
			tiers = append(tiers, []any{a})
		}
		meta["announce-list"] = tiers
	}
	if len(nodes) > 0 {
		l := []any{}
		for _, n := range nodes {
			l = append(l, []any{n.Addr().String(), int64(n.Port())})
		}
		meta["nodes"] = l
	}
	if err := os.WriteFile(path, bencode(meta), 0o644); err != nil {
		return nil, err
	}
	v, err := LoadTorrent(path, tor.Dir)
	if err != nil {
		return nil, err
	}
	if v.InfoHash != tor.InfoHash {
		return nil, fmt.Errorf("torrent variant %s: info hash changed (the info dictionary was not in canonical form)", path)
	}
	return v, nil
}

// Magnet is a magnet link for the torrent with the given trackers and peer
// hints (x.pe).
func (tor *Torrent) Magnet(trackers []string, peers []netip.AddrPort) string {
	q := "xt=urn:btih:" + tor.InfoHashHex() + "&dn=" + url.QueryEscape(tor.Name) + "&xl=" + strconv.FormatInt(tor.Size, 10)
	for _, tr := range trackers {
		q += "&tr=" + url.QueryEscape(tr)
	}
	for _, p := range peers {
		q += "&x.pe=" + url.QueryEscape(p.String())
	}
	return "magnet:?" + q
}

// VerifiedBytes is how many payload bytes of the file at path are correct:
// the total length of the pieces whose SHA-1 matches the torrent's. A
// missing file has 0. It works whatever the client (all are configured to
// write to the final name, without a partial-file suffix).
func (tor *Torrent) VerifiedBytes(path string) (int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, tor.PieceLength)
	var good int64
	for i, want := range tor.pieces {
		n, err := io.ReadFull(f, buf)
		if n == 0 {
			break
		}
		if sha1.Sum(buf[:n]) == want && (int64(n) == tor.PieceLength || i == len(tor.pieces)-1) {
			good += int64(n)
		}
		if err != nil { // short file
			break
		}
	}
	return good, nil
}

// Cmp compares the file at path with the complete payload using cmp(1).
func (tor *Torrent) Cmp(path string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "cmp", tor.DataPath(), path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("cmp %s %s: %w: %s", tor.DataPath(), path, err, bytes.TrimSpace(out))
	}
	return nil
}
