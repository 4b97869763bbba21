package main

import (
	"math/bits"
	"strconv"
)

// int128 is a two's-complement 128-bit integer: enough to sum any request's numbers
// (each at most 2^53 in magnitude) exactly, where int64 could overflow.
type int128 struct{ hi, lo uint64 }

func (a int128) add(n int64) int128 {
	var carry uint64
	a.lo, carry = bits.Add64(a.lo, uint64(n), 0)
	ext := uint64(0) // sign extension of n
	if n < 0 {
		ext = ^uint64(0)
	}
	a.hi, _ = bits.Add64(a.hi, ext, carry)
	return a
}

// appendDecimal writes a in decimal, with "-" for negatives and no exponent.
func (a int128) appendDecimal(out []byte) []byte {
	if int64(a.hi) < 0 {
		out = append(out, '-')
		lo, borrow := bits.Sub64(0, a.lo, 0)
		hi, _ := bits.Sub64(0, a.hi, borrow)
		a = int128{hi, lo}
	}
	if a.hi == 0 {
		return strconv.AppendUint(out, a.lo, 10)
	}
	// Peel off 19 decimal digits at a time (10^19 fits in a uint64).
	const chunk = 10_000_000_000_000_000_000
	var parts []uint64
	for a.hi != 0 || a.lo != 0 {
		hiQ, hiR := a.hi/chunk, a.hi%chunk
		loQ, rem := bits.Div64(hiR, a.lo, chunk)
		parts = append(parts, rem)
		a = int128{hiQ, loQ}
	}
	out = strconv.AppendUint(out, parts[len(parts)-1], 10)
	for i := len(parts) - 2; i >= 0; i-- {
		digits := strconv.FormatUint(parts[i], 10)
		for pad := len(digits); pad < 19; pad++ {
			out = append(out, '0')
		}
		out = append(out, digits...)
	}
	return out
}
