package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrUnavailable is returned by a Store that could not store events: the
// caller may retry later; nothing of the call was stored.
var ErrUnavailable = errors.New("event store unavailable")

// Record is one event to store: its subject, deterministic message id and
// structured JSON body.
type Record struct {
	Subject string
	MsgID   string
	Body    []byte
}

// Ack says where a record was stored.
type Ack struct {
	Sequence  uint64
	Duplicate bool
}

// Store stores records durably. Store returns only after every record is
// stored; for more than one record it stores all or none. Errors wrap
// ErrUnavailable when the caller may retry.
type Store interface {
	Store(ctx context.Context, records []Record) ([]Ack, error)
}

// jetStreamStore stores records in the EVENTS stream. Single records are
// published asynchronously, so concurrent requests share the connection
// instead of waiting for each other's round trips; batches are published
// as one JetStream atomic batch.
type jetStreamStore struct {
	js jetstream.JetStream
	nc *nats.Conn
	// batchSlots bounds atomic batches in flight (the server allows 50 per
	// stream).
	batchSlots chan struct{}
}

var _ Store = (*jetStreamStore)(nil)

func newJetStreamStore(js jetstream.JetStream) *jetStreamStore {
	return &jetStreamStore{js: js, nc: js.Conn(), batchSlots: make(chan struct{}, 32)}
}

func (s *jetStreamStore) Store(ctx context.Context, records []Record) ([]Ack, error) {
	if len(records) == 1 {
		a, err := s.storeOne(ctx, records[0])
		if err != nil {
			return nil, err
		}
		return []Ack{a}, nil
	}
	select {
	case s.batchSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a batch slot: %w: %w", ErrUnavailable, ctx.Err())
	}
	defer func() { <-s.batchSlots }()
	acks, err := s.storeAtomic(ctx, records)
	if errors.Is(err, errBatchHasDuplicate) {
		// A retried batch: some events are stored already. Publish one by
		// one; stored events come back as duplicates.
		return s.storeEach(ctx, records)
	}
	return acks, err
}

func (s *jetStreamStore) storeOne(ctx context.Context, r Record) (Ack, error) {
	msg := &nats.Msg{Subject: r.Subject, Data: r.Body, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, r.MsgID)
	fut, err := s.js.PublishMsgAsync(msg)
	if err != nil {
		return Ack{}, fmt.Errorf("publish: %w: %w", ErrUnavailable, err)
	}
	select {
	case pa := <-fut.Ok():
		return Ack{Sequence: pa.Sequence, Duplicate: pa.Duplicate}, nil
	case err := <-fut.Err():
		return Ack{}, fmt.Errorf("publish: %w: %w", ErrUnavailable, err)
	case <-ctx.Done():
		return Ack{}, fmt.Errorf("publish: %w: %w", ErrUnavailable, ctx.Err())
	}
}

func (s *jetStreamStore) storeEach(ctx context.Context, records []Record) ([]Ack, error) {
	futs := make([]jetstream.PubAckFuture, len(records))
	for i, r := range records {
		msg := &nats.Msg{Subject: r.Subject, Data: r.Body, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, r.MsgID)
		f, err := s.js.PublishMsgAsync(msg)
		if err != nil {
			return nil, fmt.Errorf("publish: %w: %w", ErrUnavailable, err)
		}
		futs[i] = f
	}
	acks := make([]Ack, len(records))
	for i, f := range futs {
		select {
		case pa := <-f.Ok():
			acks[i] = Ack{Sequence: pa.Sequence, Duplicate: pa.Duplicate}
		case err := <-f.Err():
			return nil, fmt.Errorf("publish: %w: %w", ErrUnavailable, err)
		case <-ctx.Done():
			return nil, fmt.Errorf("publish: %w: %w", ErrUnavailable, ctx.Err())
		}
	}
	return acks, nil
}

// Atomic batch publishing (nats-server 2.12+): every message carries
// Nats-Batch-Id and Nats-Batch-Sequence, the last one Nats-Batch-Commit;
// the server stores all messages of the batch or none.
const (
	hdrBatchID     = "Nats-Batch-Id"
	hdrBatchSeq    = "Nats-Batch-Sequence"
	hdrBatchCommit = "Nats-Batch-Commit"
	// errCodeBatchDuplicate is JSAtomicPublishContainsDuplicateMessageErr.
	errCodeBatchDuplicate = 10201
)

var errBatchHasDuplicate = errors.New("atomic batch contains a stored message id")

type batchAck struct {
	Stream string `json:"stream"`
	Seq    uint64 `json:"seq"`
	Count  int    `json:"count"`
	Error  *struct {
		Code        int    `json:"code"`
		ErrCode     int    `json:"err_code"`
		Description string `json:"description"`
	} `json:"error"`
}

func (s *jetStreamStore) storeAtomic(ctx context.Context, records []Record) ([]Ack, error) {
	var idb [16]byte
	_, _ = rand.Read(idb[:])
	batchID := base64.RawURLEncoding.EncodeToString(idb[:])
	last := len(records) - 1
	var reply *nats.Msg
	for i, r := range records {
		msg := &nats.Msg{Subject: r.Subject, Data: r.Body, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, r.MsgID)
		msg.Header.Set(hdrBatchID, batchID)
		msg.Header.Set(hdrBatchSeq, strconv.Itoa(i+1))
		if i < last {
			if err := s.nc.PublishMsg(msg); err != nil {
				return nil, fmt.Errorf("publish batch: %w: %w", ErrUnavailable, err)
			}
			continue
		}
		msg.Header.Set(hdrBatchCommit, "1")
		var err error
		reply, err = s.nc.RequestMsgWithContext(ctx, msg)
		if err != nil {
			return nil, fmt.Errorf("commit batch: %w: %w", ErrUnavailable, err)
		}
	}
	var ba batchAck
	if err := json.Unmarshal(reply.Data, &ba); err != nil {
		return nil, fmt.Errorf("commit batch: unreadable answer: %w: %w", ErrUnavailable, err)
	}
	if ba.Error != nil {
		if ba.Error.ErrCode == errCodeBatchDuplicate {
			return nil, errBatchHasDuplicate
		}
		return nil, fmt.Errorf("commit batch: %s (code %d): %w", ba.Error.Description, ba.Error.ErrCode, ErrUnavailable)
	}
	if ba.Count != len(records) {
		return nil, fmt.Errorf("commit batch: stored %d of %d: %w", ba.Count, len(records), ErrUnavailable)
	}
	acks := make([]Ack, len(records))
	first := ba.Seq - uint64(ba.Count) + 1
	for i := range acks {
		acks[i] = Ack{Sequence: first + uint64(i)}
	}
	return acks, nil
}
