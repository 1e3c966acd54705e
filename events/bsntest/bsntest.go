// Package bsntest generates fictitious BSNs that pass the elfproef, for
// tests and demos. Never use real BSNs in tests.
package bsntest

import (
	"fmt"
	"math/rand/v2"
)

// New returns a random nine-digit number passing the elfproef, drawn from
// r, starting with 9 so that it stands apart from the common test ranges.
func New(r *rand.Rand) string {
	for {
		d := make([]int, 9)
		d[0] = 9
		sum := 9 * 9
		for i := 1; i < 8; i++ {
			d[i] = r.IntN(10)
			sum += (9 - i) * d[i]
		}
		last := sum % 11
		if last == 10 {
			continue
		}
		d[8] = last
		return fmt.Sprintf("%d%d%d%d%d%d%d%d%d", d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8])
	}
}

// Seeded returns n distinct fictitious BSNs from a fixed seed.
func Seeded(seed uint64, n int) []string {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	seen := map[string]bool{}
	out := make([]string, 0, n)
	for len(out) < n {
		b := New(r)
		if !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	return out
}
