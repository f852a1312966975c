package share

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftwall/ftwall/internal/share/sharetest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// writeCerts makes a CA and a server certificate for 127.0.0.1 signed by
// it, and a second CA that signed nothing.
func writeCerts(t *testing.T) (ca, otherCA, cert, key string) {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	newCA := func(name string) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c, k, der
	}
	caCert, caKey, caDER := newCA("ftwall test CA")
	_, _, otherDER := newCA("another CA")
	sk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "nats"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &sk.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(sk)
	return write("ca.pem", "CERTIFICATE", caDER), write("other-ca.pem", "CERTIFICATE", otherDER), write("server.pem", "CERTIFICATE", der), write("server-key.pem", "EC PRIVATE KEY", kb)
}

func TestTLSAndAuthentication(t *testing.T) {
	ca, otherCA, cert, key := writeCerts(t)
	t.Run("tls", func(t *testing.T) {
		srv := sharetest.StartTLS(t, ca, cert, key)
		if !strings.HasPrefix(srv.URL, "tls://") {
			t.Fatalf("URL %s", srv.URL)
		}
		a := openT(t, srv.URL, ModePeers, "gw-a", func(c *Config) { c.TLSCA = ca })
		b := openT(t, srv.URL, ModePeers, "gw-b", func(c *Config) { c.TLSCA = ca })
		waitLoaded(t, a)
		waitLoaded(t, b)
		a.Publish(Entry{Kind: KindPeer, Addr: peerA, Timeout: time.Hour})
		collect(t, b, 1, 5*time.Second)
		// A server whose certificate another CA signed is not trusted.
		bad := openT(t, srv.URL, ModePeers, "gw-x", func(c *Config) { c.TLSCA = otherCA })
		refused(t, bad, "certificate", "untrusted server certificate")
	})
	t.Run("user", func(t *testing.T) {
		srv := sharetest.Start(t, "--user", "gw-a", "--pass", "s3cret")
		a := openT(t, srv.URL, ModePeers, "gw-a", func(c *Config) { c.User, c.Password = "gw-a", "s3cret" })
		waitLoaded(t, a)
		bad := openT(t, srv.URL, ModePeers, "gw-x", func(c *Config) { c.User, c.Password = "gw-a", "wrong" })
		refused(t, bad, "authorization", "wrong password")
	})
	t.Run("token", func(t *testing.T) {
		srv := sharetest.Start(t, "--auth", "tok3n")
		a := openT(t, srv.URL, ModePeers, "gw-a", func(c *Config) { c.Token = "tok3n" })
		waitLoaded(t, a)
	})
}

func TestNKeyAuthentication(t *testing.T) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	seed, _ := kp.Seed()
	dir := t.TempDir()
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, []byte("authorization { users: [ { nkey: "+pub+" } ] }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	seedFile := filepath.Join(dir, "gw-a.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := sharetest.StartWith(t, []nats.Option{nats.Nkey(pub, kp.Sign)}, "-c", conf)
	a := openT(t, srv.URL, ModePeers, "gw-a", func(c *Config) { c.NKeyFile = seedFile })
	b := openT(t, srv.URL, ModePeers, "gw-b", func(c *Config) { c.NKeyFile = seedFile })
	waitLoaded(t, a)
	waitLoaded(t, b)
	a.Publish(Entry{Kind: KindPeer, Addr: peerA, Timeout: time.Hour})
	collect(t, b, 1, 5*time.Second)
	none := openT(t, srv.URL, ModePeers, "gw-x")
	refused(t, none, "authorization", "no nkey")
}

// refused waits up to 5 s for c's last error to name why (lower case) and
// requires that c is not connected then: a fixed pause could end before the
// first attempt failed.
func refused(t *testing.T, c *Client, why, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	st := c.Stats()
	for !strings.Contains(strings.ToLower(st.LastError), why) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		st = c.Stats()
	}
	if st.Connected || !strings.Contains(strings.ToLower(st.LastError), why) {
		t.Errorf("%s: %+v, want not connected and an error naming %q", what, st, why)
	}
}
