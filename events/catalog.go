package events

import (
	"fmt"
	"regexp"
	"strings"
)

// The event types of the catalog (NL GOV profile: reverse-DNS, named after the
// domain, versioned).
const (
	TypeSignaal            = "nl.sociaaldomein.signaal.v1"
	TypeAanmelding         = "nl.sociaaldomein.aanmelding.v1"
	TypeBevestiging        = "nl.sociaaldomein.bevestiging.v1"
	TypeOverdrachtJeugdWmo = "nl.sociaaldomein.overdracht-jeugd-wmo.v1"
	TypeEscalatie          = "nl.sociaaldomein.escalatie.v1"
	TypeSamenloop          = "nl.sociaaldomein.samenloop.v1"
)

const typePrefix = "nl.sociaaldomein."

// Types returns every event type of the catalog, in catalog order.
func Types() []string {
	return []string{TypeSignaal, TypeAanmelding, TypeBevestiging, TypeOverdrachtJeugdWmo, TypeEscalatie, TypeSamenloop}
}

// KnownType reports whether t is an event type of the catalog.
func KnownType(t string) bool {
	for _, k := range Types() {
		if k == t {
			return true
		}
	}
	return false
}

// PartnerPublishable reports whether partners may publish events of type t;
// escalatie and samenloop are produced by ketenbus itself.
func PartnerPublishable(t string) bool {
	return KnownType(t) && t != TypeEscalatie && t != TypeSamenloop
}

// SplitType splits a catalog type into its event name and version:
// "nl.sociaaldomein.signaal.v1" gives "signaal", "v1".
func SplitType(t string) (event, version string, ok bool) {
	rest, found := strings.CutPrefix(t, typePrefix)
	if !found {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '.')
	if i <= 0 || !versionPattern.MatchString(rest[i+1:]) {
		return "", "", false
	}
	return rest[:i], rest[i+1:], true
}

var (
	versionPattern   = regexp.MustCompile(`^v[0-9]+$`)
	partnerIDPattern = regexp.MustCompile(`^[a-z0-9-]{1,63}$`)
	// sourcePattern is the NL GOV profile's URN for a source: an OIN (20
	// digits) or a KvK number (8 digits), optionally followed by more
	// colon-separated parts such as ":systeem:<name>".
	sourcePattern = regexp.MustCompile(`^urn:nld:(oin:[0-9]{20}|kvknr:[0-9]{8})(:[A-Za-z0-9][A-Za-z0-9._~-]*)*$`)
)

// ValidPartnerID reports whether id is a valid partner id: lowercase
// [a-z0-9-], 1 to 63 characters (partner ids appear in NATS subjects).
func ValidPartnerID(id string) bool {
	return partnerIDPattern.MatchString(id)
}

// CheckSource returns an error saying what is wrong when s is not a source
// URN of the NL GOV profile, such as
// "urn:nld:oin:00000001234567890000:systeem:bvh" or
// "urn:nld:kvknr:12345678:systeem:crm".
func CheckSource(s string) error {
	if sourcePattern.MatchString(s) {
		return nil
	}
	switch {
	case s == "":
		return fmt.Errorf("source is empty: use a URN such as urn:nld:oin:<20-digit OIN>:systeem:<name>")
	case !strings.HasPrefix(s, "urn:nld:"):
		return fmt.Errorf("source %q is not a URN of the NL GOV profile: it must start with urn:nld:oin:<20-digit OIN> or urn:nld:kvknr:<8-digit KvK number>", s)
	default:
		return fmt.Errorf("source %q is malformed: expected urn:nld:oin:<20-digit OIN>[:systeem:<name>] or urn:nld:kvknr:<8-digit KvK number>[:systeem:<name>]", s)
	}
}
