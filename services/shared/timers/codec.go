package timers

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The flags byte of the packed format (see doc.go). Each time is written
// in the coarsest unit that holds it exactly.
const (
	shiftTermijn = 0 // 2 bits: unitHour, unitSecond, unitMilli, unitNano
	shiftDue     = 2 // 2 bits: as termijn
	shiftAnchor  = 4 // 2 bits: none, hour, second, nanosecond
	shiftLevel   = 6 // 2 bits: level 0, 1, 2, or 3 = uvarint level−3 follows
)

// Forms of subject and betreft id, kept in the profile.
const (
	formSubjectRaw = 1 // 32 raw bytes for 64 lowercase hex digits
	formUUID       = 2 // 16 raw bytes for a canonical UUID
)

// maxPacked bounds a packed timer: the scripts store it in at most 256
// hash fields of 64 bytes.
const maxPacked = 256 * 64

// Units of a packed time.
const (
	unitHour = iota
	unitSecond
	unitMilli
	unitNano
)

// errCorrupt reports a stored value this package cannot read.
var errCorrupt = errors.New("timers: stored timer unreadable")

// parseID returns the 16 raw bytes of a 32-hex-digit timer id.
func parseID(id string) (string, error) {
	if len(id) != 32 {
		return "", fmt.Errorf("%w: id %q is not 32 hex digits", ErrInvalid, id)
	}
	var b [16]byte
	if _, err := hex.Decode(b[:], []byte(id)); err != nil {
		return "", fmt.Errorf("%w: id %q is not 32 hex digits", ErrInvalid, id)
	}
	return string(b[:]), nil
}

// pack returns the profile of t (its low-cardinality fields, see doc.go)
// and the packed rest: everything after the profile code.
func pack(t Timer) (string, []byte, error) {
	if t.Level < 0 {
		return "", nil, fmt.Errorf("%w: level %d is negative", ErrInvalid, t.Level)
	}
	subject, subjectRaw := rawHex(t.Subject, 32)
	betreft, isUUID := rawUUID(t.Betreft.ID)
	forms := byte('0')
	if subjectRaw {
		forms |= formSubjectRaw
	}
	if isUUID {
		forms |= formUUID
	}
	parts := [...]string{t.Kind, t.Reden, t.Betreft.Source, t.Betreft.Type, t.Ontvanger, t.Sender, string(forms)}
	for _, p := range parts {
		if strings.IndexByte(p, 0) >= 0 {
			return "", nil, fmt.Errorf("%w: a text field contains a NUL byte", ErrInvalid)
		}
	}

	var flags byte
	tu, tv, ok1 := inUnit(t.Termijn.Unix(), int64(t.Termijn.Nanosecond()), true)
	flags |= tu << shiftTermijn
	du, dv, ok2 := inUnit(delta(t.Due, t.Termijn))
	flags |= du << shiftDue
	var av int64
	ok3 := true
	if !t.Anchor.IsZero() {
		var au byte
		as, an, _ := delta(t.Anchor, t.Termijn)
		au, av, ok3 = inUnit(as, an, false)
		if au == unitNano {
			au = unitMilli // the anchor has no millisecond unit: tag 3 is nanoseconds
		}
		flags |= (au + 1) << shiftAnchor
	}
	if !ok1 || !ok2 || !ok3 {
		return "", nil, fmt.Errorf("%w: times more than 290 years apart with sub-second precision", ErrInvalid)
	}
	flags |= byte(min(t.Level, 3)) << shiftLevel

	b := make([]byte, 0, 64)
	b = append(b, flags)
	if t.Level >= 3 {
		b = binary.AppendUvarint(b, uint64(t.Level-3))
	}
	b = binary.AppendVarint(b, tv)
	b = binary.AppendVarint(b, dv)
	if !t.Anchor.IsZero() {
		b = binary.AppendVarint(b, av)
	}
	if subjectRaw {
		b = append(b, subject...)
	} else {
		b = appendString(b, t.Subject)
	}
	if isUUID {
		b = append(b, betreft...)
	} else {
		b = appendString(b, t.Betreft.ID)
	}
	if len(b) > maxPacked-8 {
		return "", nil, fmt.Errorf("%w: timer packs into %d bytes, more than %d", ErrInvalid, len(b), maxPacked-8)
	}
	return strings.Join(parts[:], "\x00"), b, nil
}

// delta returns a−b as seconds and nanoseconds in [0, 1e9), and true:
// the arguments of inUnit for a time that has a millisecond unit.
func delta(a, b time.Time) (sec, nsec int64, withMilli bool) {
	sec = a.Unix() - b.Unix()
	nsec = int64(a.Nanosecond()) - int64(b.Nanosecond())
	if nsec < 0 {
		nsec += 1e9
		sec--
	}
	return sec, nsec, true
}

// inUnit returns sec+nsec in the coarsest unit that holds it exactly
// (milliseconds only if withMilli), and false if it does not fit an int64.
func inUnit(sec, nsec int64, withMilli bool) (byte, int64, bool) {
	switch {
	case nsec == 0 && sec%3600 == 0:
		return unitHour, sec / 3600, true
	case nsec == 0:
		return unitSecond, sec, true
	case withMilli && nsec%1e6 == 0:
		if sec > math.MaxInt64/1000-1 || sec < math.MinInt64/1000+1 {
			return 0, 0, false
		}
		return unitMilli, sec*1000 + nsec/1e6, true
	default:
		if sec > math.MaxInt64/int64(1e9)-1 || sec < math.MinInt64/int64(1e9)+1 {
			return 0, 0, false
		}
		return unitNano, sec*1e9 + nsec, true
	}
}

// fromUnit is the inverse of inUnit.
func fromUnit(unit byte, v int64) (sec, nsec int64) {
	switch unit {
	case unitHour:
		return v * 3600, 0
	case unitSecond:
		return v, 0
	case unitMilli:
		sec, rem := v/1000, v%1000
		if rem < 0 {
			sec, rem = sec-1, rem+1000
		}
		return sec, rem * 1e6
	default:
		sec, rem := v/1e9, v%1e9
		if rem < 0 {
			sec, rem = sec-1, rem+1e9
		}
		return sec, rem
	}
}

// unpack reads a packed value into a timer with the given hex id, taking
// the profile text for its code from profiles.
func unpack(id string, v string, profiles map[int64]string) (Timer, error) {
	t := Timer{ID: id}
	r := reader{s: v}
	code := int64(r.uvarint())
	flags := r.byte()
	if r.err != nil {
		return Timer{}, fmt.Errorf("%w: timer %s", errCorrupt, id)
	}
	p, ok := profiles[code]
	parts := strings.Split(p, "\x00")
	if !ok || len(parts) != 7 || len(parts[6]) != 1 {
		return Timer{}, fmt.Errorf("%w: timer %s has no readable profile %d", errCorrupt, id, code)
	}
	t.Kind, t.Reden, t.Betreft.Source, t.Betreft.Type, t.Ontvanger, t.Sender =
		parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]
	forms := parts[6][0] - '0'

	t.Level = int(flags >> shiftLevel)
	if t.Level == 3 {
		t.Level += int(r.uvarint())
	}
	ts, tn := fromUnit(flags>>shiftTermijn&3, r.varint())
	t.Termijn = time.Unix(ts, tn).UTC()
	ds, dn := fromUnit(flags>>shiftDue&3, r.varint())
	t.Due = time.Unix(ts+ds, tn+dn).UTC()
	if au := flags >> shiftAnchor & 3; au != 0 {
		unit := au - 1
		if unit == unitMilli {
			unit = unitNano
		}
		as, an := fromUnit(unit, r.varint())
		t.Anchor = time.Unix(ts+as, tn+an).UTC()
	}
	if forms&formSubjectRaw != 0 {
		t.Subject = hex.EncodeToString([]byte(r.bytes(32)))
	} else {
		t.Subject = r.string()
	}
	if forms&formUUID != 0 {
		var u uuid.UUID
		copy(u[:], r.bytes(16))
		t.Betreft.ID = u.String()
	} else {
		t.Betreft.ID = r.string()
	}
	if r.err != nil || r.i != len(r.s) {
		return Timer{}, fmt.Errorf("%w: timer %s is truncated or too long", errCorrupt, id)
	}
	return t, nil
}

// rawHex returns the raw bytes of s when s is exactly n bytes of
// lowercase hex, so that hex.EncodeToString gives s back.
func rawHex(s string, n int) ([]byte, bool) {
	if len(s) != 2*n {
		return nil, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return nil, false
		}
	}
	b, err := hex.DecodeString(s)
	return b, err == nil
}

// rawUUID returns the 16 bytes of s when s is a UUID in canonical form,
// so that uuid.UUID.String gives s back.
func rawUUID(s string) ([]byte, bool) {
	if len(s) != 36 {
		return nil, false
	}
	u, err := uuid.Parse(s)
	if err != nil || u.String() != s {
		return nil, false
	}
	return u[:], true
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// reader reads the packed format; the first error sticks.
type reader struct {
	s   string
	i   int
	err error
}

func (r *reader) byte() byte {
	if r.err != nil || r.i >= len(r.s) {
		r.err = errCorrupt
		return 0
	}
	c := r.s[r.i]
	r.i++
	return c
}

func (r *reader) uvarint() uint64 {
	var x uint64
	for shift := uint(0); shift < 64; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return x
		}
	}
	r.err = errCorrupt
	return 0
}

func (r *reader) varint() int64 {
	ux := r.uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

func (r *reader) bytes(n int) string {
	if r.err != nil || n < 0 || r.i+n > len(r.s) {
		r.err = errCorrupt
		return ""
	}
	s := r.s[r.i : r.i+n]
	r.i += n
	return s
}

func (r *reader) string() string {
	n := r.uvarint()
	if n > uint64(len(r.s)) {
		r.err = errCorrupt
		return ""
	}
	return r.bytes(int(n))
}

// dueScore is the sorted-set score of a due time: Unix milliseconds,
// rounded up, so that a timer is never claimed before it is due.
func dueScore(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		ms++
	}
	return ms
}
