package sink

import (
	"strconv"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Record headers. Every record carries HeaderSeq; the others are missing
// only from the record of an alert whose JSON could not be read (counted
// in Stats.Malformed), which is relayed as stored with a null key.
const (
	HeaderID      = "motif-alert-id"        // the alert id
	HeaderSeq     = "motif-alert-seq"       // the alert's sequence number in the log, decimal
	HeaderPattern = "motif-pattern"         // the pattern name
	HeaderVersion = "motif-pattern-version" // the pattern version, decimal
)

// headersPerRecord is how many headers a well-formed alert's record has.
const headersPerRecord = 4

// batch holds the records of one attempt. Its memory is reused from one
// batch to the next once the client has answered for every record; a batch
// given up with records possibly still in the client's hands is dropped
// instead (see Sink.dropConn).
type batch struct {
	recs []kgo.Record
	hdrs []kgo.RecordHeader
	buf  []byte // values, header values and unescaped strings

	first, last uint64 // sequence numbers of the first and last record
	bytes       int    // payload bytes
	malformed   int

	wg      sync.WaitGroup // promises outstanding
	mu      sync.Mutex
	err     error // first produce error
	promise func(*kgo.Record, error)
}

// newBatch makes a batch for up to maxBatch records. Its slices grow as
// needed: a record keeps its own slice of headers and bytes, which stay
// valid when a slice moves, and records are handed out by address only
// once the batch is complete.
func newBatch(maxBatch int) *batch {
	n := min(maxBatch, 1024)
	b := &batch{
		recs: make([]kgo.Record, 0, n),
		hdrs: make([]kgo.RecordHeader, 0, n*headersPerRecord),
	}
	b.promise = func(_ *kgo.Record, err error) {
		if err != nil {
			b.mu.Lock()
			if b.err == nil {
				b.err = err
			}
			b.mu.Unlock()
		}
		b.wg.Done()
	}
	return b
}

// reset empties b for the next batch.
func (b *batch) reset() {
	clear(b.recs) // drop references to the previous values
	b.recs = b.recs[:0]
	b.hdrs = b.hdrs[:0]
	b.buf = b.buf[:0]
	b.first, b.last, b.bytes, b.malformed = 0, 0, 0, 0
	b.err = nil
}

func (b *batch) len() int { return len(b.recs) }

// add appends the record of alert seq, copying payload. It returns the
// error that made the payload unreadable, if any: the record is added all
// the same, as stored, with only the sequence number header.
func (b *batch) add(topic string, seq uint64, payload []byte) error {
	start := len(b.buf)
	b.buf = append(b.buf, payload...)
	value := b.buf[start:len(b.buf):len(b.buf)]
	f, buf, err := scanAlert(value, b.buf)
	b.buf = buf
	start = len(b.buf)
	b.buf = strconv.AppendUint(b.buf, seq, 10)
	seqText := b.buf[start:len(b.buf):len(b.buf)]

	h := len(b.hdrs)
	if err != nil {
		b.malformed++
		f = alertFields{}
		b.hdrs = append(b.hdrs, kgo.RecordHeader{Key: HeaderSeq, Value: seqText})
	} else {
		b.hdrs = append(b.hdrs,
			kgo.RecordHeader{Key: HeaderID, Value: f.id},
			kgo.RecordHeader{Key: HeaderSeq, Value: seqText},
			kgo.RecordHeader{Key: HeaderPattern, Value: f.pattern},
			kgo.RecordHeader{Key: HeaderVersion, Value: f.version},
		)
	}
	b.recs = append(b.recs, kgo.Record{
		Topic:   topic,
		Key:     f.key,
		Value:   value,
		Headers: b.hdrs[h:len(b.hdrs):len(b.hdrs)],
	})
	if len(b.recs) == 1 {
		b.first = seq
	}
	b.last = seq
	b.bytes += len(payload)
	return err
}

// firstErr returns the first error a promise reported.
func (b *batch) firstErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}
