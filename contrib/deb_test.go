package contrib

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// The Debian package through its lifecycle, with no change to the
// machine's own files: `make deb` builds it, dpkg-deb and lintian inspect
// it, and dpkg installs, upgrades, removes and purges it in a scratch root
// (dpkg --root, maintainer scripts run chrootless with DPKG_ROOT set).
// The scripts run in a private network namespace, so the teardown they do
// removes that namespace's table, not the machine's; systemd's helpers are
// stand-ins that record what the scripts asked of them.

// packaged is every file and directory of the package, with its mode.
var packaged = map[string]os.FileMode{
	"/usr/sbin/ftwall":                                 0o755,
	"/usr/share/man/man8/ftwall.8.gz":                  0o644,
	"/lib/systemd/system/ftwall.service":               0o644,
	"/usr/share/bash-completion/completions/ftwall":    0o644,
	"/usr/share/zsh/vendor-completions/_ftwall":        0o644,
	"/usr/share/fish/vendor_completions.d/ftwall.fish": 0o644,
	"/etc/ftwall/ftwall.yaml":                          0o644,
	"/usr/share/doc/ftwall/copyright":                  0o644,
	"/usr/share/doc/ftwall/changelog.gz":               0o644,
	"/usr/share/lintian/overrides/ftwall":              0o644,
	"/var/lib/ftwall":                                  fs.ModeDir | 0o750,
}

func need(t *testing.T, prog, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(prog); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: .ci/run (make deps) installs %s", prog, pkg)
		}
		t.Skipf("%s not installed (apt-get install %s); CI runs this test", prog, pkg)
	}
}

func version(t *testing.T) string {
	t.Helper()
	v, err := os.ReadFile("../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(v))
}

// buildDeb runs `make deb` for this machine's architecture into dir.
func buildDeb(t *testing.T, dir string) string {
	t.Helper()
	cmd := exec.Command("make", "-s", "-C", "..", "deb", "ARCHES="+runtime.GOARCH,
		"DIST="+filepath.Join(dir, "dist"), "BUILD="+filepath.Join(dir, "build"), "BIN="+filepath.Join(dir, "bin", "ftwall"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make deb: %v\n%s", err, out)
	}
	deb := filepath.Join(dir, "dist", fmt.Sprintf("ftwall_%s_%s.deb", version(t), runtime.GOARCH))
	if _, err := os.Stat(deb); err != nil {
		t.Fatalf("make deb did not write %s: %v", deb, err)
	}
	return deb
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestDebPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the package")
	}
	need(t, "dpkg-deb", "dpkg")
	dir := t.TempDir()
	deb := buildDeb(t, dir)

	t.Run("reproducible", func(t *testing.T) {
		again := buildDeb(t, t.TempDir())
		a, _ := os.ReadFile(deb)
		b, _ := os.ReadFile(again)
		if !bytes.Equal(a, b) {
			t.Errorf("two builds of one checkout differ (%d and %d bytes)", len(a), len(b))
		}
	})

	t.Run("info", func(t *testing.T) {
		info := run(t, "dpkg-deb", "--info", deb)
		for _, want := range []string{"Package: ftwall", "Version: " + version(t), "Architecture: " + runtime.GOARCH,
			"Section: net", "Recommends: nftables", "Maintainer: ", "Description: "} {
			if !strings.Contains(info, want) {
				t.Errorf("dpkg-deb --info lacks %q:\n%s", want, info)
			}
		}
		// ftwall is static and needs no nft(8): nothing to depend on.
		if strings.Contains(info, "Depends:") {
			t.Errorf("the package declares dependencies it does not need:\n%s", info)
		}
		for _, script := range []string{"postinst", "prerm", "postrm"} {
			if !strings.Contains(info, script) {
				t.Errorf("the package has no %s", script)
			}
		}
		if conf := run(t, "dpkg-deb", "--field", deb, "Package"); strings.TrimSpace(conf) != "ftwall" {
			t.Errorf("Package field %q", conf)
		}
		ctl := t.TempDir()
		run(t, "dpkg-deb", "--control", deb, ctl)
		conffiles, err := os.ReadFile(filepath.Join(ctl, "conffiles"))
		if err != nil || strings.TrimSpace(string(conffiles)) != "/etc/ftwall/ftwall.yaml" {
			t.Errorf("conffiles %q (%v), want /etc/ftwall/ftwall.yaml", conffiles, err)
		}
	})

	t.Run("contents", func(t *testing.T) {
		got := map[string]os.FileMode{}
		out, err := exec.Command("dpkg-deb", "--fsys-tarfile", deb).Output()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(bytes.NewReader(out))
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Uid != 0 || h.Gid != 0 {
				t.Errorf("%s is owned by %d:%d, not root", h.Name, h.Uid, h.Gid)
			}
			name := "/" + strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
			if h.Typeflag == tar.TypeDir {
				got[name] = fs.ModeDir | fs.FileMode(h.Mode).Perm()
			} else {
				got[name] = fs.FileMode(h.Mode).Perm()
			}
		}
		for name, mode := range packaged {
			if m, ok := got[name]; !ok {
				t.Errorf("the package lacks %s", name)
			} else if m != mode {
				t.Errorf("%s has mode %v, want %v", name, m, mode)
			}
		}
		for name, m := range got {
			if _, ok := packaged[name]; !ok && !m.IsDir() {
				t.Errorf("the package has an unexpected file %s", name)
			}
		}
		// The changelog is the one generated from CHANGELOG.md.
		f := t.TempDir()
		run(t, "dpkg-deb", "--extract", deb, f)
		z, err := os.Open(filepath.Join(f, "usr/share/doc/ftwall/changelog.gz"))
		if err != nil {
			t.Fatal(err)
		}
		defer z.Close()
		zr, err := gzip.NewReader(z)
		if err != nil {
			t.Fatal(err)
		}
		text, _ := io.ReadAll(zr)
		if !strings.HasPrefix(string(text), "ftwall ("+version(t)+") unstable; urgency=medium\n") {
			t.Errorf("changelog.gz starts %q", strings.SplitN(string(text), "\n", 2)[0])
		}
		unit, _ := os.ReadFile(filepath.Join(f, "lib/systemd/system/ftwall.service"))
		if !strings.Contains(string(unit), "\nExecStart=/usr/sbin/ftwall run\n") {
			t.Errorf("the packaged unit does not run /usr/sbin/ftwall:\n%s", unit)
		}
		if out, err := exec.Command(filepath.Join(f, "usr/sbin/ftwall"), "--version").CombinedOutput(); err != nil ||
			!strings.HasPrefix(string(out), "ftwall version "+version(t)+" (commit ") {
			t.Errorf("the packaged ftwall --version: %v: %q", err, out)
		}
		if out, err := exec.Command("bash", "-n", filepath.Join(f, "usr/share/bash-completion/completions/ftwall")).CombinedOutput(); err != nil {
			t.Errorf("bash -n on the packaged completion: %v\n%s", err, out)
		}
		if _, err := exec.LookPath("man"); err == nil {
			cmd := exec.Command("man", "--warnings", "-l", filepath.Join(f, "usr/share/man/man8/ftwall.8.gz"))
			cmd.Env = append(os.Environ(), "MANPAGER=cat", "MANWIDTH=80")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil || stderr.Len() > 0 {
				t.Errorf("man --warnings -l on the packaged page: %v\n%s", err, stderr.String())
			}
		}
	})

	t.Run("lintian", func(t *testing.T) {
		need(t, "lintian", "lintian")
		cmd := exec.Command("lintian", "--fail-on", "error,warning,info,pedantic", "--display-info", "--pedantic", deb)
		out, err := cmd.CombinedOutput()
		var tags []string
		for _, l := range strings.Split(string(out), "\n") {
			if l != "" && !strings.Contains(l, "running with root privileges") {
				tags = append(tags, l)
			}
		}
		if err != nil || len(tags) > 0 {
			t.Errorf("lintian (every tag not overridden and explained in contrib/debian/lintian-overrides): %v\n%s", err, strings.Join(tags, "\n"))
		}
	})

	t.Run("lifecycle", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("not root: dpkg --root and the network namespace need root; CI runs this as root")
		}
		need(t, "dpkg", "dpkg")
		need(t, "ip", "iproute2")
		lifecycle(t, deb)
	})
}

// lifecycle installs deb into a scratch root and takes it through an
// upgrade, a removal and a purge.
func lifecycle(t *testing.T, deb string) {
	root := filepath.Join(t.TempDir(), "root")
	for _, d := range []string{"var/lib/dpkg/updates", "var/lib/dpkg/info", "var/lib/dpkg/triggers", "run/systemd/system"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"var/lib/dpkg/status", "var/lib/dpkg/available"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Stand-ins for systemd's helpers: they record their arguments.
	stubs := t.TempDir()
	calls := filepath.Join(t.TempDir(), "calls")
	for _, name := range []string{"deb-systemd-helper", "deb-systemd-invoke", "systemctl"} {
		script := "#!/bin/sh\necho \"" + name + " $*\" >> \"$FTWALL_TEST_CALLS\"\nexit 0\n"
		if err := os.WriteFile(filepath.Join(stubs, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ns := fmt.Sprintf("ftwpkg-%d", os.Getpid())
	run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	run(t, "ip", "-n", ns, "link", "set", "lo", "up")

	inNS := func(args ...string) (string, error) {
		cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
		cmd.Env = append(os.Environ(), "PATH="+stubs+":"+os.Getenv("PATH"), "FTWALL_TEST_CALLS="+calls)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	dpkg := func(args ...string) string {
		t.Helper()
		out, err := inNS(append([]string{"dpkg", "--root=" + root, "--force-script-chrootless", "--force-not-root"}, args...)...)
		if err != nil {
			t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	takeCalls := func() string {
		b, _ := os.ReadFile(calls)
		os.Remove(calls)
		return string(b)
	}
	wantCalls := func(step, got string, want, not []string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(got, w+"\n") {
				t.Errorf("%s: the scripts did not call %q; they called:\n%s", step, w, got)
			}
		}
		for _, w := range not {
			if strings.Contains(got, w) {
				t.Errorf("%s: the scripts called %q:\n%s", step, w, got)
			}
		}
	}

	// 1. Install: enabled, not started (the configuration names no LAN).
	out := dpkg("-i", deb)
	if !strings.Contains(out, "enabled but was not started") || !strings.Contains(out, "--lan") {
		t.Errorf("install did not say why the service was not started:\n%s", out)
	}
	wantCalls("install", takeCalls(), []string{"deb-systemd-helper enable ftwall.service", "systemctl --system daemon-reload"},
		[]string{"deb-systemd-invoke start", "deb-systemd-invoke restart"})
	for name, mode := range packaged {
		fi, err := os.Stat(filepath.Join(root, name))
		if err != nil {
			t.Errorf("installed: %v", err)
			continue
		}
		if m := fi.Mode() & (fs.ModeDir | fs.ModePerm); m != mode {
			t.Errorf("installed %s has mode %v, want %v", name, m, mode)
		}
	}
	if st := dpkgStatus(t, root); !strings.Contains(st, "Status: install ok installed") {
		t.Errorf("dpkg status after install:\n%s", st)
	}

	// 2. The administrator names a LAN interface; an upgrade (a
	// reinstall) keeps the changed conffile and starts the service.
	conf := filepath.Join(root, "etc/ftwall/ftwall.yaml")
	text, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(text), "#lan: []", "lan: [lo]", 1)
	if edited == string(text) {
		t.Fatal("the packaged configuration has no \"#lan: []\" line to edit")
	}
	if err := os.WriteFile(conf, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	out = dpkg("-i", deb)
	if strings.Contains(out, "not started") {
		t.Errorf("the upgrade did not start the configured service:\n%s", out)
	}
	wantCalls("upgrade", takeCalls(), []string{"deb-systemd-invoke restart ftwall.service"}, nil)
	if now, _ := os.ReadFile(conf); string(now) != edited {
		t.Error("the upgrade replaced the administrator's /etc/ftwall/ftwall.yaml")
	}

	// 3. Remove: the service stops and the table goes (nothing could
	// remove it once the program is gone); conffile and storefile stay.
	ftwall := filepath.Join(root, "usr/sbin/ftwall")
	if out, err := inNS(ftwall, "setup", "--lan", "lo"); err != nil {
		t.Fatalf("ftwall setup in the namespace: %v\n%s", err, out)
	}
	store := filepath.Join(root, "var/lib/ftwall/peers")
	if err := os.WriteFile(store, []byte("198.51.100.7:1214\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dpkg("-r", "ftwall")
	wantCalls("remove", takeCalls(), []string{"deb-systemd-invoke stop ftwall.service", "deb-systemd-helper mask ftwall.service"}, nil)
	if out, err := inNS("nft", "list", "table", "inet", "ftwall"); err == nil {
		t.Errorf("the table is still there after removal:\n%s", out)
	}
	for _, keep := range []string{conf, store} {
		if _, err := os.Stat(keep); err != nil {
			t.Errorf("removal (not purge) deleted %s", keep)
		}
	}
	if _, err := os.Stat(ftwall); err == nil {
		t.Error("removal left /usr/sbin/ftwall")
	}

	// 4. Purge: configuration and learned peers go; nothing is left.
	dpkg("-P", "ftwall")
	wantCalls("purge", takeCalls(), []string{"deb-systemd-helper purge ftwall.service"}, nil)
	var left []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(root, p)
		switch {
		case err != nil, rel == ".":
		case strings.HasPrefix(rel, "var/lib/dpkg"), rel == "var/lib", rel == "var", rel == "run",
			strings.HasPrefix(rel, "run/systemd"):
		default:
			left = append(left, rel)
		}
		return nil
	})
	sort.Strings(left)
	if len(left) > 0 {
		t.Errorf("purge left files behind: %v", left)
	}
	if st := dpkgStatus(t, root); strings.Contains(st, "Package: ftwall") && !strings.Contains(st, "not-installed") {
		t.Errorf("dpkg status after purge:\n%s", st)
	}
}

func dpkgStatus(t *testing.T, root string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "var/lib/dpkg/status"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
