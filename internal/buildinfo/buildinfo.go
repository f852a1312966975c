// Package buildinfo says which build of ftwall is running: for --version,
// the control socket's info and the ftwall_build_info metric.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Stamped at build time by the Makefile (make build, deb, release):
//
//	-ldflags "-X github.com/ftwall/ftwall/internal/buildinfo.version=0.1.0
//	          -X github.com/ftwall/ftwall/internal/buildinfo.commit=0123456789ab"
//
// A plain `go build` leaves them empty; then the module version (`go
// install …@vX`) or "devel", and the VCS revision Go recorded, are used.
// They are variables only because -X needs one; nothing assigns them.
var (
	version string
	commit  string
)

// Info is one build's identity.
type Info struct {
	Version string // semantic version, "devel" when not stamped
	Commit  string // 12 hex digits, "+dirty" when built from a modified tree; "" when unknown
	Go      string // the Go release, e.g. go1.26.8
}

// Get returns the running build's identity.
func Get() Info {
	return get(version, commit, readBuildInfo())
}

func readBuildInfo() *debug.BuildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	return bi
}

func get(stampedVersion, stampedCommit string, bi *debug.BuildInfo) Info {
	in := Info{Version: stampedVersion, Commit: stampedCommit, Go: runtime.Version()}
	if bi != nil {
		if bi.GoVersion != "" {
			in.Go = bi.GoVersion
		}
		if in.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			in.Version = bi.Main.Version
		}
		if in.Commit == "" {
			var rev, dirty string
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					if s.Value == "true" {
						dirty = "+dirty"
					}
				}
			}
			if len(rev) > 12 {
				rev = rev[:12]
			}
			if rev != "" {
				in.Commit = rev + dirty
			}
		}
	}
	if in.Version == "" {
		in.Version = "devel"
	}
	return in
}

// String is what --version prints after "ftwall version ":
// "0.1.0 (commit 0123456789ab, go1.26.8 linux/amd64)".
func (in Info) String() string {
	c := in.Commit
	if c == "" {
		c = "unknown"
	}
	return in.Version + " (commit " + c + ", " + in.Go + " " + runtime.GOOS + "/" + runtime.GOARCH + ")"
}

// Version is Get().String(), for --version and the control socket.
func Version() string { return Get().String() }

// Module returns the version with the commit ("0.1.0+0123456789ab") and
// the Go release, as labels of ftwall_build_info.
func Module() (version, goVersion string) {
	in := Get()
	v := in.Version
	if in.Commit != "" {
		v += "+" + in.Commit
	}
	return v, in.Go
}
