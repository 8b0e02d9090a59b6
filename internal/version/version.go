// Package version says which build of the gateway is running. The Makefile
// stamps Version and Commit with -ldflags (VCS stamping may be off in the
// build environment); a plain `go build` falls back to the module's build
// information.
package version

import (
	"runtime"
	"runtime/debug"
)

// Stamped by the Makefile:
//
//	-ldflags "-X github.com/forecastgw/forecast-gateway/internal/version.Version=v1.2.3
//	          -X github.com/forecastgw/forecast-gateway/internal/version.Commit=abc1234"
var (
	Version = ""
	Commit  = ""
)

// Info is the running build.
type Info struct {
	Version   string // "v1.2.3", or "devel" for an unstamped build
	Commit    string // VCS revision, or "" when unknown
	GoVersion string
}

// Get returns the build's version information.
func Get() Info {
	info := Info{Version: Version, Commit: Commit, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && info.Commit == "" {
				info.Commit = s.Value
			}
		}
	}
	if info.Version == "" {
		info.Version = "devel"
	}
	return info
}
