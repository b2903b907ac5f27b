package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/motifcep/motif/kafka"
	"github.com/motifcep/motif/kafka/sink"
)

// The alert mirror. Every node copies the alert topic (read_committed, so
// only delivered alerts) into its front node's alert log, which is what the
// API's Subscribe and ListAlerts read: any node serves the whole cluster's
// alerts. With an alert topic of one partition an alert's sequence number
// is its offset + 1 on every node, so a subscriber's cursor means the same
// thing on every node; with several partitions each node numbers the
// alerts as it reads them. The offsets read are committed in the batch that
// appends the alerts, so a restart neither skips nor repeats one.

// mirrorKey names the front store's record of the next offsets to read.
const mirrorKey = "cluster-alert-mirror"

// mirror copies the alert topic until ctx ends, starting again after a
// failure.
func (c *Node) mirror(ctx context.Context) {
	for ctx.Err() == nil {
		err := c.mirrorOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		c.log.Warn("alert mirror failed; starting again", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (c *Node) mirrorOnce(ctx context.Context) error {
	st := c.front.Store()
	next := map[int32]int64{}
	if b, ok, err := st.GetMeta(mirrorKey); err != nil {
		return err
	} else if ok {
		if err := json.Unmarshal(b, &next); err != nil {
			return fmt.Errorf("cluster: alert mirror record: %w", err)
		}
	}
	tps, err := kafka.ResolvePartitions(ctx, kafka.SourceConfig{Brokers: c.cfg.Kafka.Brokers,
		Topics: []string{c.cfg.Kafka.AlertsTopic}, ClientOpts: c.cfg.Kafka.ClientOpts})
	if err != nil {
		return err
	}
	single := len(tps) == 1
	src, err := kafka.NewSource(ctx, kafka.SourceConfig{Brokers: c.cfg.Kafka.Brokers, Partitions: tps,
		Start: func(tp kafka.TopicPartition) (int64, bool) {
			n, ok := next[tp.Partition]
			return n, ok
		},
		Logger: c.log, ClientOpts: c.cfg.Kafka.ClientOpts})
	if err != nil {
		return err
	}
	defer src.Close()
	for {
		type rec struct {
			part  int32
			off   int64
			id    string
			at    int64
			value []byte
		}
		var recs []rec
		if _, err := src.Poll(ctx, func(_ int, r *kafka.Record) bool {
			x := rec{part: r.Partition, off: r.Offset, at: r.Timestamp.UnixNano(), value: append([]byte(nil), r.Value...)}
			for _, h := range r.Headers {
				if h.Key == sink.HeaderID {
					x.id = string(h.Value)
				}
			}
			recs = append(recs, x)
			return true
		}); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for len(recs) > 0 {
			// One batch per run of records that need no gap in the
			// numbering: a gap needs SkipAlertsTo, outside a batch.
			if single {
				if err := st.SkipAlertsTo(uint64(recs[0].off) + 1); err != nil {
					return err
				}
			}
			b := st.NewBatch()
			n := 0
			for _, r := range recs {
				if single && n > 0 && r.off != recs[n-1].off+1 {
					break
				}
				id := r.id
				if id == "" {
					id = fmt.Sprintf("%s/%d/%d", c.cfg.Kafka.AlertsTopic, r.part, r.off)
				}
				b.AppendAlert(id, r.at, r.value)
				next[r.part] = r.off + 1
				n++
			}
			js, _ := json.Marshal(next)
			b.PutMeta(mirrorKey, js)
			err := b.Commit(true)
			b.Close()
			if err != nil {
				return err
			}
			recs = recs[n:]
		}
		c.front.AlertsAppended()
	}
}
