package calc

// The exact text of a long result. The display of an exact value is bounded (an integer
// over 4300 digits shows its first digits and its digit count, §5), and so is the Value
// that format gives with it; a JSON reply wants every digit, however many. Writing them is
// real work — the decimal text of a million-bit integer takes tens of milliseconds — so it
// is done only for a session that asks for it (Session.ExactValue: the JSON protocols),
// during its line, priced and admitted by the meter like any operation: refused with the
// time-limit error when it cannot finish in the time left, charged to the budget as the
// line's measured work, and passed through the server's gate when it is heavy.

// exactValue completes f.value, the exact text of v ("n" or "n/d"), when the session
// wants exact values and format left it out.
func (e *evaluator) exactValue(v value, f *formatted) error {
	if !e.s.ExactValue || f.value != "" || f.kind == KindApprox || !v.isBig() {
		return nil
	}
	if err := e.spend(v, value{}, valueCost(v.numBits(), v.denBits()), 0); err != nil {
		return err
	}
	f.value = v.rat().RatString()
	return nil
}

// valueCost is the exact text of a value of num and den bits: the decimal digits of the
// numerator, and of the denominator of a fraction.
func valueCost(num, den float64) float64 {
	if den <= 1 {
		return stringCost(num)
	}
	return cap15(stringCost(num) + stringCost(den))
}
