package share

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// Mode says what a gateway shares.
type Mode string

// Modes.
const (
	// ModePeers publishes and applies learned peers: sites with separate LANs.
	ModePeers Mode = "peers"
	// ModeAll also publishes and applies time-locks: an HA pair serving one LAN.
	ModeAll Mode = "all"
	// ModeReceive applies the peers others learned and publishes nothing.
	ModeReceive Mode = "receive"
)

// ParseMode parses a mode name.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case ModePeers, ModeAll, ModeReceive:
		return m, nil
	case "":
		return ModePeers, nil
	}
	return "", fmt.Errorf("%q is not a share mode: want peers (share learned peers), all (also time-locks, for an HA pair on one LAN) or receive (apply what others learned, publish nothing)", s)
}

// Publishes reports whether the mode publishes anything.
func (m Mode) Publishes() bool { return m == ModePeers || m == ModeAll }

// SharesLocks reports whether the mode publishes and applies time-locks.
func (m Mode) SharesLocks() bool { return m == ModeAll }

// Default bucket names and sizes.
const (
	DefaultPeersBucket = "ftwall-peers"
	DefaultLocksBucket = "ftwall-locks"
	DefaultBacklog     = 100000
)

// Config is the share configuration (--share-* options, the file's share:
// mapping).
type Config struct {
	// URLs are the NATS servers (nats://host:port or tls://host:port); none
	// means sharing is off.
	URLs []string
	Mode Mode
	// Name is this gateway's name in what it publishes (default: the
	// hostname).
	Name string

	// Authentication: at most one of user/password, token, nkey seed file
	// and credentials file.
	User, Password string
	Token          string
	NKeyFile       string
	CredsFile      string

	// TLS: the CA that signed the servers' certificates, and this
	// gateway's client certificate and key (for servers that verify
	// clients).
	TLSCA, TLSCert, TLSKey string

	PeersBucket, LocksBucket string
	// Replicas is how many servers hold each bucket when this gateway
	// creates it (1, 3 or 5; a cluster of three wants 3).
	Replicas int
	// PeerTTL and LockTTL are the buckets' TTLs when this gateway creates
	// them, and the longest lifetime an applied entry gets (the service
	// sets them from --peer-timeout and --timelock; 0 = no limit).
	PeerTTL, LockTTL time.Duration
	// Backlog bounds the entries waiting to be published.
	Backlog int
}

// Enabled reports whether sharing is configured.
func (c *Config) Enabled() bool { return len(c.URLs) > 0 }

// SetDefaults fills the defaults in.
func (c *Config) SetDefaults() {
	if c.Mode == "" {
		c.Mode = ModePeers
	}
	if c.Name == "" {
		if h, err := os.Hostname(); err == nil {
			c.Name = h
		}
	}
	if c.PeersBucket == "" {
		c.PeersBucket = DefaultPeersBucket
	}
	if c.LocksBucket == "" {
		c.LocksBucket = DefaultLocksBucket
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Backlog == 0 {
		c.Backlog = DefaultBacklog
	}
}

// Validate checks the configuration; errors name the option to fix. Files
// (credentials, certificates) are checked for readability.
func (c *Config) Validate() error {
	if !c.Enabled() {
		return nil
	}
	var errs []error
	for _, u := range c.URLs {
		if err := checkURL(u); err != nil {
			errs = append(errs, fmt.Errorf("--share-url: %w", err))
		}
	}
	if _, err := ParseMode(string(c.Mode)); err != nil {
		errs = append(errs, fmt.Errorf("--share-mode: %w", err))
	}
	if c.Name != "" && !nameValid(c.Name) {
		errs = append(errs, fmt.Errorf("--share-name: %q: want 1-64 letters, digits, '.', '-' or '_'", c.Name))
	}
	auth := 0
	if c.User != "" || c.Password != "" {
		auth++
		if c.User == "" || c.Password == "" {
			errs = append(errs, errors.New("--share-user and --share-password go together: give both or neither"))
		}
	}
	for _, v := range []string{c.Token, c.NKeyFile, c.CredsFile} {
		if v != "" {
			auth++
		}
	}
	if auth > 1 {
		errs = append(errs, errors.New("--share-user/--share-password, --share-token, --share-nkey and --share-creds: give at most one way to authenticate"))
	}
	for _, f := range []struct{ opt, path string }{
		{"--share-nkey", c.NKeyFile}, {"--share-creds", c.CredsFile},
		{"--share-tls-ca", c.TLSCA}, {"--share-tls-cert", c.TLSCert}, {"--share-tls-key", c.TLSKey},
	} {
		if f.path == "" {
			continue
		}
		if err := readable(f.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.opt, err))
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("--share-tls-cert and --share-tls-key go together: give both or neither"))
	}
	for _, b := range []struct{ opt, name string }{{"--share-peers-bucket", c.PeersBucket}, {"--share-locks-bucket", c.LocksBucket}} {
		if b.name != "" && !bucketValid(b.name) {
			errs = append(errs, fmt.Errorf("%s: %q is not a bucket name: want letters, digits, '-' and '_'", b.opt, b.name))
		}
	}
	if c.PeersBucket != "" && c.PeersBucket == c.LocksBucket {
		errs = append(errs, fmt.Errorf("--share-peers-bucket and --share-locks-bucket are both %q: peers and locks need buckets of their own", c.PeersBucket))
	}
	switch c.Replicas {
	case 0, 1, 3, 5:
	default:
		errs = append(errs, fmt.Errorf("--share-replicas: %d: want 1, 3 or 5", c.Replicas))
	}
	if c.Backlog < 0 {
		errs = append(errs, fmt.Errorf("--share-backlog: %d is negative", c.Backlog))
	}
	return errors.Join(errs...)
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a server URL: want nats://HOST:PORT or tls://HOST:PORT", s)
	}
	switch u.Scheme {
	case "nats", "tls":
	default:
		return fmt.Errorf("%q: scheme %q: want nats:// or tls://", s, u.Scheme)
	}
	if u.User != nil {
		return fmt.Errorf("%q holds credentials: give them with --share-user/--share-password (or a credentials file), not in the URL, which is logged", s)
	}
	return nil
}

func readable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", path, errors.Unwrap(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a directory, not a file", path)
	}
	return nil
}

func nameValid(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func bucketValid(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
