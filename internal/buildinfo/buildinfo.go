// Package buildinfo says which build of ftwall is running: for --version
// and the ftwall_build_info metric.
package buildinfo

import "runtime/debug"

// Version is the program version for --version: the module version when
// built with `go install …@vX`, else "devel", plus the VCS revision when
// the build recorded one, then the Go version.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
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
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " (" + rev + dirty + ")"
	}
	return v + " " + bi.GoVersion
}

// Module returns the module version alone ("devel" when none) and the Go
// version, as labels of ftwall_build_info.
func Module() (version, goVersion string) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel", "unknown"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	return v, bi.GoVersion
}
