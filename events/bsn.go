package events

// ValidBSN reports whether s is a BSN: exactly nine ASCII digits passing the
// elfproef (9·d1 + 8·d2 + … + 2·d8 − 1·d9 is a multiple of 11). It does not
// say that the number was ever issued.
func ValidBSN(s string) bool {
	if len(s) != 9 {
		return false
	}
	sum := 0
	for i := 0; i < 9; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		w := 9 - i
		if i == 8 {
			w = -1
		}
		sum += w * int(c-'0')
	}
	return sum%11 == 0 && s != "000000000"
}
