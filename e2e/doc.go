// Package e2e holds the end-to-end tests of wscalc: they build the real binary once
// (TestMain), start it on loopback with port 0, and drive it with real third-party clients,
// the way its users do:
//
//   - nc (Debian's netcat-openbsd) on the TCP line protocol;
//   - /usr/bin/python3 with Debian's python3-websockets (testdata/wsclient.py) on /ws, in
//     both the JSON subprotocol and the plain text mode;
//   - Go clients (net.Dial, github.com/coder/websocket): 200 TCP and 200 WebSocket sessions
//     at once, each pipelining 50 expressions with distinct expected answers;
//   - chromium (via chromedp) for the playground, in browser_test.go;
//   - nginx (with its stream module) in front of three instances forming a cluster
//     (cluster_test.go), where two nc clients and two tabs share one room through a
//     kill -9 of an instance (rooms_cluster_test.go).
//
// It also checks the command line (-h, a bad flag, the eval subcommand) and the shutdown
// contract: on SIGTERM open sessions are told "server shutting down" and the process exits 0.
//
// A test that needs an external tool calls requireTool. It skips only when the tool is
// absent and the environment variable CI is unset or empty; under CI (the .ci/run script
// installs the tools) a missing tool fails the test, so a broken CI image cannot turn the
// suite green by skipping it.
//
// When the tests run with -race, the server binary is built with -race too, so a data race
// inside the real server under load fails the test (the child exits with status 66).
//
// Helpers for other tests in this package (browser_test.go):
//
//	startServer(t, args...) *server                  // port 0 for both listeners
//	startServerOn(t, httpAddr, tcpAddr, args...)     // fixed addresses, e.g. a restart
//	startServerEnv(t, env, httpAddr, tcpAddr, args...) // plus environment variables
//	(*server).URL(), .WSURL(), .HTTPAddr, .TCPAddr, .Stop(t) (exit code), .Output()
//	requireTool(t, name) string                      // path of the tool, or skip/fail
//	runBinary(t, stdin, args...) (stdout, stderr, exit code)
package e2e
