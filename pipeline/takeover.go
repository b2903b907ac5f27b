package pipeline

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/motifcep/motif/checkpoint"
)

// Taking a partition over. A node that takes over a partition another node
// matched rebuilds the state by replaying the partition's recent records
// with Config.QuietUntil set to where the other's delivered alerts end:
// what the replay would alert was already delivered, so it is dropped, and
// the first commit lands exactly at that offset. From there the pipeline is
// in the state the other was in when it committed at that offset, and
// produces the same alerts in the same order (alert ids are
// deterministic), whatever its own commit boundaries.
//
// Config.AlertMarks gives the other side of it: each commit that appends
// alerts records the input offsets the commit started from, under the
// sequence number of its first alert, so the alert sink can say, for the
// alerts it has delivered, where the input stood.

// startQuiet starts the replay if the store is behind Config.QuietUntil
// or behind where its own alerts end: commits without key states (see
// Config.StateEvents) move the alerts on past the offset the states
// resume from, and the records in between are replayed without output.
func (p *Pipeline) startQuiet() error {
	p.markFrom = append([]uint64(nil), p.next...)
	if p.cfg.QuietUntil != 0 && len(p.parts) != 1 {
		return errors.New("pipeline: QuietUntil needs an input of one partition")
	}
	p.quietUntil = p.cfg.QuietUntil
	if len(p.parts) == 1 {
		alerted, err := p.readAlerted()
		if err != nil {
			return err
		}
		p.quietUntil = max(p.quietUntil, alerted)
	}
	p.quiet = p.next[0] < p.quietUntil
	if p.quiet {
		p.cfg.Logger.Info("replaying without output up to where the alerts end", "from", p.next[0], "to", p.quietUntil)
	}
	return nil
}

// endQuiet ends the replay once the input reached quietUntil, with a
// commit at exactly that offset.
func (p *Pipeline) endQuiet() error {
	if !p.quiet || p.next[0] < p.quietUntil {
		return nil
	}
	if err := p.commit(); err != nil {
		return err
	}
	p.quiet = false
	p.cfg.Logger.Info("replay done: alerts from here on", "offset", p.next[0], "quieted", p.stats.Quieted)
	return nil
}

// alertedKey names the meta record of the input offset up to which the
// pipeline's alerts are committed (one partition).
func (p *Pipeline) alertedKey() string { return p.resumeKey() + "/alerted" }

func (p *Pipeline) readAlerted() (uint64, error) {
	b, ok, err := p.store.GetMeta(p.alertedKey())
	if err != nil || !ok {
		return 0, err
	}
	v, k := binary.Uvarint(b)
	if k <= 0 || k != len(b) {
		return 0, fmt.Errorf("pipeline: corrupt record %s", p.alertedKey())
	}
	return v, nil
}

// markAlerts records the mark of a commit whose first alert is first (0:
// it appends none).
func (p *Pipeline) markAlerts(b *checkpoint.Batch, first uint64) {
	if !p.cfg.AlertMarks || first == 0 {
		return
	}
	b.PutAlertMark(first, AppendMark(nil, p.markFrom))
}

// AppendMark encodes input offsets as an alert mark.
func AppendMark(b []byte, offsets []uint64) []byte {
	b = binary.AppendUvarint(b, uint64(len(offsets)))
	for _, o := range offsets {
		b = binary.AppendUvarint(b, o)
	}
	return b
}

// DecodeMark decodes an alert mark: the input offsets a commit started
// from, one per partition of the input.
func DecodeMark(b []byte) ([]uint64, error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)) {
		return nil, fmt.Errorf("pipeline: malformed alert mark %x", b)
	}
	b = b[w:]
	out := make([]uint64, n)
	for i := range out {
		v, w := binary.Uvarint(b)
		if w <= 0 {
			return nil, fmt.Errorf("pipeline: malformed alert mark %x", b)
		}
		out[i], b = v, b[w:]
	}
	return out, nil
}
