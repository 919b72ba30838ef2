package main

import (
	"io"
)

// runEval is `wscalc eval`. TEMPORARY stub.
func runEval(args []string, stdin io.Reader, stdout, stderr io.Writer) int { return 2 }
