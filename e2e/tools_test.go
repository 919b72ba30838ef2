package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// inCI reports whether the tests run under CI, where a missing tool is a failure, not a skip.
func inCI() bool { return os.Getenv("CI") != "" }

// toolMissing skips the test, or fails it under CI, because a tool it needs is absent.
func toolMissing(t testing.TB, format string, args ...any) {
	t.Helper()
	if inCI() {
		t.Fatalf("CI is set and a required tool is missing: "+format, args...)
	}
	t.Skipf("skipping (set CI=1 to make this a failure): "+format, args...)
}

// requireTool returns the path of the executable name (a command looked up in PATH, or an
// absolute path). When it is absent the test skips, or fails if CI is set.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	if filepath.IsAbs(name) {
		if fi, err := os.Stat(name); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			toolMissing(t, "%s is not an executable file", name)
		}
		return name
	}
	path, err := exec.LookPath(name)
	if err != nil {
		toolMissing(t, "%s not found in PATH", name)
	}
	return path
}

// systemPython is Debian's interpreter: the python3 first in PATH may be another install
// that lacks the python3-websockets module.
const systemPython = "/usr/bin/python3"

// requirePythonWebsockets returns systemPython after checking that it can import the
// websockets module (Debian package python3-websockets); skip or fail like requireTool.
func requirePythonWebsockets(t testing.TB) string {
	t.Helper()
	py := requireTool(t, systemPython)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, py, "-c", "import websockets").CombinedOutput(); err != nil {
		toolMissing(t, "%s cannot import websockets (apt-get install python3-websockets): %v\n%s", py, err, out)
	}
	return py
}
