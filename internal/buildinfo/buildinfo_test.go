package buildinfo

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestGet(t *testing.T) {
	vcs := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}}
	for _, c := range []struct {
		name, v, c string
		bi         *debug.BuildInfo
		want       Info
	}{
		{"stamped", "0.1.0", "fedcba987654", vcs, Info{"0.1.0", "fedcba987654", "go1.26.8"}},
		{"vcs only", "", "", vcs, Info{"devel", "0123456789ab+dirty", "go1.26.8"}},
		{"go install", "", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.1.0"}}, Info{"v0.1.0", "", "go1.26.8"}},
		{"nothing", "", "", nil, Info{"devel", "", runtime.Version()}},
	} {
		if got := get(c.v, c.c, c.bi); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
	if s := (Info{"0.1.0", "", "go1.26.8"}).String(); s != "0.1.0 (commit unknown, go1.26.8 "+runtime.GOOS+"/"+runtime.GOARCH+")" {
		t.Errorf("String() = %q", s)
	}
}

// TestStampedBinary builds ftwall the way the Makefile does and checks what
// --version prints.
func TestStampedBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), "ftwall")
	pkg := "github.com/ftwall/ftwall/internal/buildinfo"
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags", "-X "+pkg+".version=9.8.7 -X "+pkg+".commit=0123456789ab", "-o", bin, "github.com/ftwall/ftwall/cmd/ftwall")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("ftwall --version: %v\n%s", err, out)
	}
	want := "ftwall version 9.8.7 (commit 0123456789ab, " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	if string(out) != want {
		t.Errorf("ftwall --version printed %q, want %q", out, want)
	}
	if !strings.HasPrefix(Version(), Get().Version) {
		t.Errorf("Version() = %q", Version())
	}
}
