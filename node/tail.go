package node

import (
	"math"
	"slices"
	"sort"
	"sync"

	"github.com/motifcep/motif/checkpoint"
)

// Default bounds of the alert tail: the newest alerts it keeps, and their
// payload bytes. A subscriber further behind reads the alert log in the
// store.
const (
	tailAlerts = 4096
	tailBytes  = 8 << 20
)

// alertTail keeps the newest committed alerts in memory, so that caught-up
// subscribers copy them from here, rather than each reading the alert log
// in the store after every commit.
//
// It holds every alert of the log with a sequence number in (from, upTo],
// in order: a reader after a cursor >= from finds here all there is up to
// upTo; one before from reads the store. The node fills it after each
// commit that settles alerts (they are durable) and before it wakes the
// subscribers. The oldest alerts leave it, and from moves up, to keep it
// within its bounds. The payloads are shared by every reader and never
// change.
type alertTail struct {
	maxAlerts, maxBytes int // bounds; zero: tailAlerts, tailBytes

	fillMu sync.Mutex   // one fill at a time
	mu     sync.RWMutex // guards what follows
	ring   []*tailAlert // the i-th oldest is ring[(head+i)%len(ring)], i < n
	head   int
	n      int
	bytes  int
	from   uint64
	upTo   uint64
}

// tailAlert is an alert of the tail, with what filters look at in it
// parsed on first use by a subscriber with a filter.
type tailAlert struct {
	Alert
	once sync.Once
	meta alertMeta
}

func (a *tailAlert) fields() *alertMeta {
	a.once.Do(func() { a.meta = parseMeta(a.JSON) })
	return &a.meta
}

// reset empties the tail: it holds the alerts in (last, last], none.
func (t *alertTail) reset(last uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.ring)
	t.head, t.n, t.bytes = 0, 0, 0
	t.from, t.upTo = last, last
}

// fill adds the alerts of the store in (upTo, last], last being settled
// (every alert at or below it is committed). If the store cannot be read,
// the tail is emptied to (last, last]: readers behind go to the store.
func (t *alertTail) fill(s *checkpoint.Store, last uint64) error {
	t.fillMu.Lock()
	defer t.fillMu.Unlock()
	t.mu.RLock()
	start := t.upTo + 1
	t.mu.RUnlock()
	if last < start {
		return nil
	}
	if max := uint64(t.capacity()); last-start >= max { // only the newest can stay
		start = last - max + 1
	}
	// Read without holding mu: readers go on meanwhile.
	var add []*tailAlert
	err := s.Alerts(start, func(seq uint64, payload []byte) bool {
		if seq > last {
			return false // settled since: the next fill adds it
		}
		add = append(add, &tailAlert{Alert: Alert{seq, slices.Clone(payload)}})
		return true
	})
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case err != nil:
		t.drop(t.n)
		t.from, add = last, nil
	case start > t.upTo+1: // a gap: what the tail holds is not next to it
		t.drop(t.n)
		t.from = start - 1
	}
	for _, a := range add {
		t.push(a)
	}
	t.upTo = last
	return err
}

// trim drops the alerts before oldest, which retention removed from the
// store: the tail holds the alerts in (oldest-1, upTo], as the store does.
func (t *alertTail) trim(oldest uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.n > 0 && t.at(0).Seq < oldest {
		t.drop(1)
	}
	if oldest > 0 {
		t.from = max(t.from, min(oldest-1, t.upTo))
	}
}

// trimTail drops from the tail the alerts that retention removed from the
// store, so that they are not listed or sent from memory either.
func (n *Node) trimTail() {
	oldest := n.store.LastAlertSeq() + 1 // if the store has none
	if err := n.store.Alerts(0, func(seq uint64, _ []byte) bool { oldest = seq; return false }); err != nil {
		n.cfg.Logger.Warn("cannot trim the newest alerts in memory to retention: dropping them", "err", err)
		oldest = math.MaxUint64 // readers go to the store
	}
	n.tail.trim(oldest)
}

func (t *alertTail) capacity() int {
	if t.maxAlerts > 0 {
		return t.maxAlerts
	}
	return tailAlerts
}

// push appends a, dropping the oldest alerts to make room. Called with mu
// held.
func (t *alertTail) push(a *tailAlert) {
	if t.ring == nil {
		t.ring = make([]*tailAlert, t.capacity())
	}
	maxBytes := t.maxBytes
	if maxBytes <= 0 {
		maxBytes = tailBytes
	}
	for t.n > 0 && (t.n == len(t.ring) || t.bytes+len(a.JSON) > maxBytes) {
		t.drop(1)
	}
	t.ring[(t.head+t.n)%len(t.ring)] = a
	t.n++
	t.bytes += len(a.JSON)
}

// drop removes the k oldest alerts. Called with mu held.
func (t *alertTail) drop(k int) {
	for range k {
		a := t.ring[t.head]
		t.ring[t.head] = nil
		t.head = (t.head + 1) % len(t.ring)
		t.n--
		t.bytes -= len(a.JSON)
		t.from = a.Seq
	}
}

// at returns the i-th oldest alert. Called with mu held.
func (t *alertTail) at(i int) *tailAlert { return t.ring[(t.head+i)%len(t.ring)] }

// read appends to buf the alerts after the cursor that pass f, looking at
// up to max alerts and stopping once want of them passed, and returns buf,
// the sequence number of the last alert it looked at (after if none) and
// how many it looked at. ok is false if the tail does not hold every alert
// after the cursor (the cursor is before from): those are in the store.
func (t *alertTail) read(after uint64, f *Filter, max, want int, buf []Alert) (_ []Alert, last uint64, n int, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if after < t.from {
		return buf, after, 0, false
	}
	last = after
	all, end := f.all(), len(buf)+want
	for i := sort.Search(t.n, func(i int) bool { return t.at(i).Seq > after }); i < t.n && n < max && len(buf) < end; i++ {
		a := t.at(i)
		last, n = a.Seq, n+1
		if all || f.matchMeta(a.fields()) {
			buf = append(buf, a.Alert)
		}
	}
	return buf, last, n, true
}
