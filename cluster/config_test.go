package cluster

import (
	"flag"
	"io"
	"regexp"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	peers := []string{"10.0.0.1:6222", "10.0.0.2:6222", "10.0.0.3:6222"}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // a part of the error; "" for none
	}{
		{"zero: embedded single", Config{}, ""},
		{"data dir", Config{DataDir: "/var/lib/wscalc"}, ""},
		{"cluster", Config{Instance: "calc-1", ClusterListen: "10.0.0.1:6222", ClusterPeers: peers}, ""},
		{"cluster on every interface", Config{ClusterListen: ":6222", ClusterPeers: peers}, ""},
		{"cluster with nats-listen and data dir", Config{ClusterListen: ":6222", ClusterPeers: peers, NATSListen: "127.0.0.1:4222", DataDir: "/d"}, ""},
		{"external", Config{NATSURL: "nats://u:p@nats.example.com:4222,nats://10.0.0.9:4222"}, ""},
		{"external, bare host:port", Config{NATSURL: "10.0.0.9:4222"}, ""},
		{"instance of 64", Config{Instance: strings.Repeat("a", 64)}, ""},
		{"instance of 65", Config{Instance: strings.Repeat("a", 65)}, "-instance"},
		{"instance with a space", Config{Instance: "calc 1"}, "' ' is not allowed"},
		{"instance with a slash", Config{Instance: "calc/1"}, "'/' is not allowed"},
		{"listen without peers", Config{ClusterListen: ":6222"}, "-cluster-listen without -cluster-peers"},
		{"peers without listen", Config{ClusterPeers: peers}, "-cluster-peers without -cluster-listen"},
		{"peers without this one", Config{ClusterListen: ":7222", ClusterPeers: peers}, "no peer has port 7222"},
		{"peer twice", Config{ClusterListen: ":6222", ClusterPeers: []string{"a:6222", "a:6222"}}, "listed twice"},
		{"peer without host", Config{ClusterListen: ":6222", ClusterPeers: []string{":6222"}}, "want the host too"},
		{"peer port 0", Config{ClusterListen: ":6222", ClusterPeers: []string{"a:0"}}, "not 0"},
		{"bad listen", Config{ClusterListen: "6222", ClusterPeers: peers}, "want host:port"},
		{"bad port", Config{NATSListen: "127.0.0.1:99999"}, "want a number from 0 to 65535"},
		{"url with data dir", Config{NATSURL: "nats://n:4222", DataDir: "/d"}, "-nats-url with -data-dir"},
		{"url with cluster", Config{NATSURL: "nats://n:4222", ClusterListen: ":6222", ClusterPeers: peers}, "-nats-url with -cluster-listen/-cluster-peers"},
		{"url with nats-listen", Config{NATSURL: "nats://n:4222", NATSListen: ":4222"}, "-nats-url with -nats-listen"},
		{"url of another scheme", Config{NATSURL: "http://n:4222"}, "want a nats://"},
		{"url without host", Config{NATSURL: "nats://:4222"}, "want a host"},
		{"negative limit", Config{MaxMemory: -1}, "cannot be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// An error never shows the password of a NATS URL.
func TestValidateHidesCredentials(t *testing.T) {
	err := Config{NATSURL: "http://me:secret@n:4222"}.Validate()
	if err == nil || strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "me@") {
		t.Fatalf("Validate() = %v; want an error without the credentials", err)
	}
}

func TestDefaultInstance(t *testing.T) {
	name := DefaultInstance()
	if err := checkInstance(name); err != nil {
		t.Fatalf("DefaultInstance() = %q: %v", name, err)
	}
	if !regexp.MustCompile(`-[0-9]+$`).MatchString(name) {
		t.Errorf("DefaultInstance() = %q, want <hostname>-<pid>", name)
	}
}

func TestRegisterFlags(t *testing.T) {
	parse := func(args ...string) (Config, error) {
		var c Config
		fs := flag.NewFlagSet("wscalc", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		RegisterFlags(fs, &c)
		return c, fs.Parse(args)
	}
	c, err := parse("-instance", "calc-1", "-data-dir", "/var/lib/wscalc", "-cluster-listen", "10.0.0.1:6222",
		"-cluster-peers", "10.0.0.1:6222, 10.0.0.2:6222,10.0.0.3:6222", "-nats-listen", "127.0.0.1:4222")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Instance: "calc-1", DataDir: "/var/lib/wscalc", ClusterListen: "10.0.0.1:6222",
		ClusterPeers: []string{"10.0.0.1:6222", "10.0.0.2:6222", "10.0.0.3:6222"}, NATSListen: "127.0.0.1:4222"}
	if c.Instance != want.Instance || c.DataDir != want.DataDir || c.ClusterListen != want.ClusterListen ||
		strings.Join(c.ClusterPeers, " ") != strings.Join(want.ClusterPeers, " ") || c.NATSListen != want.NATSListen {
		t.Errorf("parsed %+v, want %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	for _, args := range [][]string{
		{"-instance", "a b"},
		{"-cluster-listen", "nope"},
		{"-cluster-peers", "10.0.0.1"},
		{"-nats-listen", "1.2.3.4:70000"},
		{"-nats-url", "http://x:1"},
	} {
		if _, err := parse(args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	// Every flag has a usage naming its argument.
	fs := flag.NewFlagSet("wscalc", flag.ContinueOnError)
	RegisterFlags(fs, &Config{})
	fs.VisitAll(func(f *flag.Flag) {
		if name, _ := flag.UnquoteUsage(f); name == "" || name == "value" {
			t.Errorf("-%s: usage %q names no argument", f.Name, f.Usage)
		}
	})
}
