package calc

import "time"

// Limits bound what one line and one session may cost. The zero value of each field means
// its default (DefaultLimits); a negative value is treated as the default too.
type Limits struct {
	MaxLineBytes int           `json:"max_line_bytes"`   // bytes per line, comments included (4096)
	MaxDepth     int           `json:"max_depth"`        // nesting of parentheses, unary operators and calls (100)
	MaxNodes     int           `json:"max_nodes"`        // nodes per expression (1000)
	MaxBits      int           `json:"max_bits"`         // bits of an exact integer (1 000 000)
	MaxTime      time.Duration `json:"max_time_ns"`      // evaluation time per line (1 s)
	MaxVars      int           `json:"max_vars"`         // variables per session (100)
	Budget       int           `json:"budget"`           // cost units per BudgetWindow (200 000)
	BudgetWindow time.Duration `json:"budget_window_ns"` // time to refill the whole budget (60 s)
	// MaxSessionMemory caps the bytes of a session's stored values, its variables and ans
	// (4 MiB); see sessionMemory for how they are counted.
	MaxSessionMemory int64 `json:"max_session_memory"`
}

// DefaultLimits returns the limits of the language reference, §7.
func DefaultLimits() Limits {
	return Limits{
		MaxLineBytes: 4096,
		MaxDepth:     100,
		MaxNodes:     1000,
		MaxBits:      1_000_000,
		MaxTime:      time.Second,
		MaxVars:      100,
		Budget:       200_000,
		BudgetWindow: 60 * time.Second,

		MaxSessionMemory: 4 << 20,
	}
}

// WithDefaults returns l with every zero or negative field replaced by its default.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	return Limits{
		MaxLineBytes: orDefault(l.MaxLineBytes, d.MaxLineBytes),
		MaxDepth:     orDefault(l.MaxDepth, d.MaxDepth),
		MaxNodes:     orDefault(l.MaxNodes, d.MaxNodes),
		MaxBits:      orDefault(l.MaxBits, d.MaxBits),
		MaxTime:      orDefault(l.MaxTime, d.MaxTime),
		MaxVars:      orDefault(l.MaxVars, d.MaxVars),
		Budget:       orDefault(l.Budget, d.Budget),
		BudgetWindow: orDefault(l.BudgetWindow, d.BudgetWindow),

		MaxSessionMemory: orDefault(l.MaxSessionMemory, d.MaxSessionMemory),
	}
}

func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
