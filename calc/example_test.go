package calc_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"wscalc/calc"
)

// A session keeps its variables and ans from line to line; every result is exact, with a
// decimal approximation when it is not an integer.
func ExampleSession_Eval() {
	var s calc.Session // the zero Session has the default limits
	for _, line := range []string{"x = 1/3", "x * 3", "ans + 41", "2 ** 100"} {
		res, err := s.Eval(line)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(res.Display)
	}
	// Output:
	// x = 1/3 ≈ 0.33333333333333333333
	// 1
	// 42
	// 1267650600228229401496703205376
}

// Errors carry the column they refer to; blank and comment lines give a result of kind
// KindNone, and quit gives ErrQuit.
func ExampleSession_Eval_errors() {
	var s calc.Session
	for _, line := range []string{"1 / (2 - 2)", "# just a comment", "quit"} {
		res, err := s.Eval(line)
		var ce *calc.Error
		switch {
		case errors.Is(err, calc.ErrQuit):
			fmt.Println("quit")
		case errors.As(err, &ce):
			fmt.Println(ce.Error())
		case res.Kind == calc.KindNone:
			fmt.Println("(no reply)")
		}
	}
	// Output:
	// Error at column 3: division by zero
	// (no reply)
	// quit
}

// EvalContext stops a line when its context ends (a client that left, a server closing).
func ExampleSession_EvalContext() {
	var s calc.Session
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	res, err := s.EvalContext(ctx, "factorial(20)")
	fmt.Println(res.Display, err)
	// Output:
	// 2432902008176640000 <nil>
}

// Limits bound a line and a session; zero fields mean the defaults.
func ExampleLimits() {
	s := calc.Session{Limits: calc.Limits{MaxLineBytes: 10}}
	_, err := s.Eval("1 + 2 + 3 + 4")
	fmt.Println(err)
	fmt.Println(calc.Limits{}.WithDefaults().MaxLineBytes)
	// Output:
	// Error: expression too long (limit 10 bytes)
	// 4096
}

// The rules a client needs before it sends a line.
func ExampleNeedsReply() {
	fmt.Println(calc.NeedsReply("1 + 1", 4096), calc.NeedsReply("  # a comment", 4096))
	fmt.Println(calc.IsQuit("  QUIT  # bye"))
	// Output:
	// true false
	// true
}
