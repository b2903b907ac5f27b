package eventtime

import (
	"math"
	"time"
)

// Watermarks tracks per-partition watermarks; the combined watermark is the minimum over partitions that are not idle.
// A partition is idle when it has had no event for idleTimeout of processing time (clock injected); an idle partition
// becomes active again on its next event. If every partition is idle, the combined watermark is the max of them.
//
// A partition that has never had an event counts from the creation of the
// Watermarks: until it goes idle it holds the combined watermark at
// math.MinInt64, as Flink's WatermarkStrategy.withIdleness does.
type Watermarks struct {
	ooo     int64
	idle    time.Duration // <= 0: partitions never go idle
	now     func() time.Time
	parts   []partition
	current int64
}

type partition struct {
	maxSeen int64     // math.MinInt64 before any event
	last    time.Time // processing time of the last event, or of creation
}

// NewWatermarks tracks partitions numbered 0 to partitions-1. An idleTimeout
// of 0 or less turns idleness off. now nil means time.Now.
func NewWatermarks(partitions int, outOfOrderness, idleTimeout time.Duration, now func() time.Time) *Watermarks {
	if now == nil {
		now = time.Now
	}
	w := &Watermarks{
		ooo:     max(int64(outOfOrderness), 0),
		idle:    idleTimeout,
		now:     now,
		parts:   make([]partition, partitions),
		current: math.MinInt64,
	}
	t := now()
	for i := range w.parts {
		w.parts[i] = partition{maxSeen: math.MinInt64, last: t}
	}
	return w
}

// Observe records an event of partition with eventTime (Unix ns), making the
// partition active. It panics if partition is out of range.
func (w *Watermarks) Observe(partition int, eventTime int64) {
	p := &w.parts[partition]
	p.maxSeen = max(p.maxSeen, eventTime)
	if w.idle > 0 { // no clock read per event when idleness is off
		p.last = w.now()
	}
}

// Active marks partition as not idle without an event: its source knows
// it has records not read yet (a backlog is not idleness).
func (w *Watermarks) Active(partition int) {
	w.parts[partition].last = w.now()
}

// Idle reports whether partition has had no event for the idle timeout.
func (w *Watermarks) Idle(partition int) bool {
	return w.idleAt(partition, w.now())
}

func (w *Watermarks) idleAt(partition int, now time.Time) bool {
	return w.idle > 0 && now.Sub(w.parts[partition].last) >= w.idle
}

// Current returns the combined watermark (Unix ns): the minimum of the
// partition watermarks (max event time - out-of-orderness) over active
// partitions, or their maximum when all are idle. It never decreases: a
// partition that comes back from idleness behind the others does not pull it
// back, and its older events are late. math.MinInt64 until known.
func (w *Watermarks) Current() int64 {
	now := w.now()
	minActive, maxAll := int64(math.MaxInt64), int64(math.MinInt64)
	active := false
	for i := range w.parts {
		wm := lag(w.parts[i].maxSeen, w.ooo)
		maxAll = max(maxAll, wm)
		if !w.idleAt(i, now) {
			active = true
			minActive = min(minActive, wm)
		}
	}
	combined := maxAll
	if active {
		combined = minActive
	}
	w.current = max(w.current, combined)
	return w.current
}

// MaxSeen returns the largest event time observed of partition
// (math.MinInt64 before any).
func (w *Watermarks) MaxSeen(partition int) int64 { return w.parts[partition].maxSeen }

// Watermark returns partition's own watermark: its largest event time
// less the out-of-orderness (math.MinInt64 before any event).
func (w *Watermarks) Watermark(partition int) int64 {
	return lag(w.parts[partition].maxSeen, w.ooo)
}

// Restore sets what a resumed stream had seen before: the largest event
// time of partition, and a combined watermark the result must not fall
// behind. It does not make the partition active.
func (w *Watermarks) Restore(partition int, maxSeen, combined int64) {
	p := &w.parts[partition]
	p.maxSeen = max(p.maxSeen, maxSeen)
	w.current = max(w.current, combined)
}

// Partitions returns the number of partitions.
func (w *Watermarks) Partitions() int { return len(w.parts) }
