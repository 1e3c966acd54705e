package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/streams"
)

// ErrDataSubject is returned by Query for a data subject id that is not a
// pseudonym (64 lowercase hex digits).
var ErrDataSubject = errors.New("audit: data subject id is not a pseudonym (64 lowercase hex digits)")

// Query reads the whole AUDIT stream with an ordered consumer and returns
// the records about dataSubjectID (a pseudonym), in stream order. A
// message that is not a record is passed over. The error is ErrDataSubject
// for an id that is not a pseudonym, or what JetStream said.
func Query(ctx context.Context, js jetstream.JetStream, dataSubjectID string) ([]Record, error) {
	if !ValidDataSubject(dataSubjectID) {
		return nil, ErrDataSubject
	}
	needle := []byte(dataSubjectID)
	var out []Record
	_, err := streams.Replay(ctx, js, events.StreamAudit, []string{events.SubjectAuditAll}, streams.ReplayOptions{}, func(m jetstream.Msg) error {
		if !bytes.Contains(m.Data(), needle) {
			return nil // not about the person: no need to decode it
		}
		var r Record
		if err := json.Unmarshal(m.Data(), &r); err != nil {
			return nil
		}
		if r.Attributes[AttrDataSubject] == dataSubjectID {
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
