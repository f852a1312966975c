// Package sharetest runs Debian's real nats-server for the share tests: one
// JetStream server on the loopback interface, with its store in a
// temporary directory. It needs no privileges.
package sharetest

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server is a running nats-server.
type Server struct {
	URL  string
	opts []nats.Option // the test's own client options (StartWith)
	ca   string        // TLS: the CA file clients verify the server with
	t    testing.TB
	bin  string
	port int
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	out  *strings.Builder
	args []string
}

// Binary returns the nats-server binary, skipping t when it is not
// installed (make deps and .ci/run install it).
func Binary(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("nats-server")
	if err != nil {
		t.Skip("nats-server is not installed (apt-get install nats-server, or make deps): the share tests run Debian's real server")
	}
	return p
}

// Version is the server's version line.
func Version(t testing.TB) string {
	out, err := exec.Command(Binary(t), "--version").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// Start starts a JetStream server on 127.0.0.1 and stops it in t's
// cleanup. Extra arguments (for example "--user", "u", "--pass", "p") go to
// nats-server.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	return start(t, "", extra)
}

// StartWith starts a server with extra arguments (a configuration file,
// say) whose clients authenticate with opts.
func StartWith(t testing.TB, opts []nats.Option, extra ...string) *Server {
	t.Helper()
	return start(t, "", extra, opts...)
}

// StartTLS starts a server that speaks TLS only, with the certificate and
// key given (signed by ca); its URL is tls://.
func StartTLS(t testing.TB, ca, cert, key string, extra ...string) *Server {
	t.Helper()
	return start(t, ca, append([]string{"--tls", "--tlscert", cert, "--tlskey", key}, extra...))
}

func start(t testing.TB, ca string, extra []string, opts ...nats.Option) *Server {
	t.Helper()
	bin := Binary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	scheme := "nats"
	if ca != "" {
		scheme = "tls"
	}
	s := &Server{t: t, bin: bin, port: port, URL: fmt.Sprintf("%s://127.0.0.1:%d", scheme, port), ca: ca, opts: opts, dir: t.TempDir(), out: &strings.Builder{}, args: extra}
	s.start()
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("nats-server output:\n%s", s.out.String())
		}
	})
	return s
}

func (s *Server) start() {
	s.t.Helper()
	args := append([]string{"-a", "127.0.0.1", "-p", fmt.Sprint(s.port), "-js", "-sd", filepath.Join(s.dir, "js")}, s.args...)
	cmd := exec.Command(s.bin, args...)
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		nc, err := nats.Connect(s.URL, append(s.ClientOptions(), nats.Timeout(time.Second))...)
		if err == nil {
			js, _ := jetstream.New(nc)
			_, err = js.AccountInfo(context.Background())
			nc.Close()
			if err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("nats-server did not start with JetStream: %v\n%s", err, s.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ClientOptions authenticate as the server's --user/--pass or --auth, if
// any.
func (s *Server) ClientOptions() []nats.Option {
	opts := append([]nats.Option(nil), s.opts...)
	if s.ca != "" {
		opts = append(opts, nats.RootCAs(s.ca))
	}
	var user, pass, token string
	for i := 0; i+1 < len(s.args); i++ {
		switch s.args[i] {
		case "--user":
			user = s.args[i+1]
		case "--pass":
			pass = s.args[i+1]
		case "--auth":
			token = s.args[i+1]
		}
	}
	switch {
	case user != "":
		opts = append(opts, nats.UserInfo(user, pass))
	case token != "":
		opts = append(opts, nats.Token(token))
	}
	return opts
}

// Stop kills the server (its store stays for Restart).
func (s *Server) Stop() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
}

// Restart starts the server again on the same port and store.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// KV opens bucket on the server with a client of the test's own (to
// publish by hand, as an operator would with the nats CLI).
func (s *Server) KV(t testing.TB, bucket string) jetstream.KeyValue {
	t.Helper()
	return OpenKV(t, s.URL, bucket, s.ClientOptions()...)
}

// JetStream connects a client of the test's own to url (closed in t's
// cleanup).
func JetStream(t testing.TB, url string, opts ...nats.Option) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// OpenKV opens bucket with a client of the test's own connected to url
// (servers separated by commas).
func OpenKV(t testing.TB, url, bucket string, opts ...nats.Option) jetstream.KeyValue {
	t.Helper()
	kv, err := JetStream(t, url, opts...).KeyValue(context.Background(), bucket)
	if err != nil {
		t.Fatalf("bucket %s: %v", bucket, err)
	}
	return kv
}
