// Package sched runs the lines of every session of a server, whatever its transport: the
// scheduler that keeps light lines from waiting behind heavy ones and shares the heavy
// slots fairly (slots.go), the gate that calc asks for heavy treatment (gate.go, eval.go),
// the memory governor (memory.go) and the evaluation metrics (scheduler.go). Sessions
// evaluate through Scheduler.Eval; who is connected is package presence's business.
package sched
