// Package wire defines the JSON messages that wscalc speaks: the wscalc.v1.json WebSocket
// subprotocol and the HTTP eval API share them, so a result looks the same on both.
package wire
