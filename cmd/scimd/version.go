package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version prints what the binary was built from: the module and its
// version ("(devel)" for a build from a checkout), the commit when the go
// command recorded one, and the Go release, which says which standard
// library fixes are in.
func version(_ context.Context, e env, args []string) error {
	fs := flags(e, "version", "version")
	if err := parse(fs, args); err != nil {
		return err
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintf(e.stdout, "scimd (no build information)\n%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return nil
	}
	fmt.Fprintf(e.stdout, "scimd %s %s\n", bi.Main.Path, bi.Main.Version)
	vcs := map[string]string{}
	for _, s := range bi.Settings {
		vcs[s.Key] = s.Value
	}
	if rev := vcs["vcs.revision"]; rev != "" {
		modified := ""
		if vcs["vcs.modified"] == "true" {
			modified = ", with uncommitted changes"
		}
		fmt.Fprintf(e.stdout, "commit %s (%s%s)\n", rev, vcs["vcs.time"], modified)
	}
	fmt.Fprintf(e.stdout, "%s %s/%s\n", bi.GoVersion, runtime.GOOS, runtime.GOARCH)
	return nil
}
