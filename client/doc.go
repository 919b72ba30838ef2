// Package client is the line client behind `wscalc client`: it sends lines of the wscalc
// language to a server over the TCP line protocol or the WebSocket plain text mode and prints
// one reply per line, either in a pipe (stdin to stdout) or on a terminal with a prompt.
package client
