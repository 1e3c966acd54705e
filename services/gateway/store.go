package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/streams"
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
	// TTL is how long EVENTS keeps the event (its type's retention);
	// zero keeps it until the stream's limits remove it.
	TTL time.Duration
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
// instead of waiting for each other's round trips. Batches are stored as
// JetStream atomic batches; batches of concurrent requests are coalesced
// into one atomic batch (up to the server's limit), because the server's
// cost is mostly per atomic batch, not per message. The union is stored
// whole or not at all, so each request's batch is too.
type jetStreamStore struct {
	js   jetstream.JetStream
	nc   *nats.Conn
	jobs chan *batchJob
	quit chan struct{}
	// workers counts the running batch workers; stop closes quit once.
	workers sync.WaitGroup
	stop    sync.Once
}

var _ Store = (*jetStreamStore)(nil)

// batchWorkers commit atomic batches concurrently: while some commit, the
// batch requests arriving meanwhile queue up and the next free worker
// takes them together.
const (
	batchWorkers     = 2
	maxAtomicRecords = 1000 // nats-server's default atomic batch limit
)

type batchJob struct {
	ctx     context.Context
	records []Record
	done    chan batchResult
}

type batchResult struct {
	acks []Ack
	err  error
}

func newJetStreamStore(js jetstream.JetStream) *jetStreamStore {
	s := &jetStreamStore{js: js, nc: js.Conn(), jobs: make(chan *batchJob, 256), quit: make(chan struct{})}
	for range batchWorkers {
		s.workers.Go(s.batchWorker)
	}
	return s
}

func (s *jetStreamStore) Store(ctx context.Context, records []Record) ([]Ack, error) {
	if len(records) == 1 {
		return s.storeEach(ctx, records)
	}
	job := &batchJob{ctx: ctx, records: records, done: make(chan batchResult, 1)}
	select {
	case s.jobs <- job:
	case <-s.quit:
		return nil, fmt.Errorf("queue batch: %w: the gateway is stopping", ErrUnavailable)
	case <-ctx.Done():
		return nil, fmt.Errorf("queue batch: %w: %w", ErrUnavailable, ctx.Err())
	}
	select {
	case r := <-job.done:
		return r.acks, r.err
	case <-ctx.Done():
		// The worker may still commit it; a retry is answered "duplicate".
		return nil, fmt.Errorf("store batch: %w: %w", ErrUnavailable, ctx.Err())
	}
}

// Close stops the batch workers and returns once they stopped (a worker
// finishes the batch it is committing); later batches are refused as
// unavailable. It is safe to call more than once.
func (s *jetStreamStore) Close() {
	s.stop.Do(func() { close(s.quit) })
	s.workers.Wait()
}

// batchWorker takes the first queued job and every further queued job that
// fits, and commits them as one atomic batch.
func (s *jetStreamStore) batchWorker() {
	for {
		var first *batchJob
		select {
		case first = <-s.jobs:
		case <-s.quit:
			return
		}
		group := []*batchJob{first}
		n := len(first.records)
	collect:
		for n < maxAtomicRecords {
			select {
			case j := <-s.jobs:
				if n+len(j.records) > maxAtomicRecords {
					s.commit([]*batchJob{j}) // too big to join: on its own
					continue
				}
				group = append(group, j)
				n += len(j.records)
			default:
				break collect
			}
		}
		s.commit(group)
	}
}

// commit stores the records of every job as one atomic batch and answers
// each job with its own acks. A group that fails because one job retries
// stored events is split up, so the other jobs are not affected.
func (s *jetStreamStore) commit(group []*batchJob) {
	live := group[:0]
	for _, j := range group {
		if j.ctx.Err() == nil {
			live = append(live, j)
		}
	}
	if len(live) == 0 {
		return
	}
	records := live[0].records
	if len(live) > 1 {
		records = nil
		for _, j := range live {
			records = append(records, j.records...)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadlineOf(live))
	defer cancel()
	acks, err := s.storeAtomic(ctx, records)
	if errors.Is(err, errBatchHasDuplicate) {
		if len(live) > 1 {
			for _, j := range live {
				s.commit([]*batchJob{j})
			}
			return
		}
		// A retried batch: some events are stored already. Publish one by
		// one; stored events come back as duplicates.
		acks, err = s.storeEach(ctx, records)
	}
	for _, j := range live {
		if err != nil {
			j.done <- batchResult{err: err}
			continue
		}
		j.done <- batchResult{acks: acks[:len(j.records):len(j.records)]}
		acks = acks[len(j.records):]
	}
}

// deadlineOf returns the time left of the job with the most time left.
func deadlineOf(jobs []*batchJob) time.Duration {
	longest := time.Duration(0)
	for _, j := range jobs {
		if d, ok := j.ctx.Deadline(); ok {
			longest = max(longest, time.Until(d))
		} else {
			return DefaultPublishTimeout
		}
	}
	return max(longest, time.Millisecond)
}

// storeEach publishes records one by one, pipelined; already stored ones
// come back as duplicates.
func (s *jetStreamStore) storeEach(ctx context.Context, records []Record) ([]Ack, error) {
	msgs := make([]*nats.Msg, len(records))
	for i, r := range records {
		msgs[i] = r.msg()
	}
	res := streams.PublishAsync(ctx, s.js, msgs)
	if err := streams.FirstError(res); err != nil {
		return nil, fmt.Errorf("publish: %w: %w", ErrUnavailable, err)
	}
	acks := make([]Ack, len(res))
	for i, r := range res {
		acks[i] = Ack{Sequence: r.Ack.Sequence, Duplicate: r.Ack.Duplicate}
	}
	return acks, nil
}

// msg returns the record as a NATS message with its Nats-Msg-Id.
func (r Record) msg() *nats.Msg {
	m := &nats.Msg{Subject: r.Subject, Data: r.Body, Header: nats.Header{jetstream.MsgIDHeader: {r.MsgID}}}
	bus.SetTTL(m.Header, r.TTL)
	return m
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
		msg := r.msg()
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
