package raftstate

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
)

// kind is the first byte of every command: what the rest of it is.
//
// The two commands on a hot path have a binary body: a checkpoint, which
// every owner writes for every partition at every checkpoint, and a catalog
// change, whose document can be large and is already encoded. The rest are
// rare and small and have a JSON body, which new fields can extend without
// a new kind.
//
// A checkpoint's body ends with its topic's length and the topic, so that
// a later version can append fields after it: a decoder ignores the bytes
// past the fields it knows. The first checkpoint encoding
// (kindCheckpointV1) ended with the topic itself and could not grow; it is
// still decoded, from logs and forwarded writes of older versions, with
// its lag unknown. A node of an older version rejects kindCheckpoint as an
// unknown kind (and, as the leader, refuses it forwarded): during a
// rolling upgrade its progress records fall behind the others' until it
// runs the new version, and owners record progress every second, so they
// are current again at once. Nothing resumes from those records (an owner
// resumes from Kafka's committed position), so this is harmless.
type kind byte

const (
	kindCatalog       kind = 1 // from:u64 doc
	kindCheckpointV1  kind = 2 // epoch:u64 offset:u64 watermark:i64 alert:u64 partition:i32 topic
	kindAddMember     kind = 3 // JSON addMemberCmd
	kindRemoveMember  kind = 4 // JSON removeMemberCmd
	kindSetPartitions kind = 5 // JSON setPartitionsCmd
	kindAssign        kind = 6 // JSON assignCmd
	// epoch:u64 offset:u64 watermark:i64 alert:u64 lag:i64 partition:i32
	// topic_len:u16 topic, then fields of later versions
	kindCheckpoint kind = 7
)

func (k kind) String() string {
	switch k {
	case kindCatalog:
		return "catalog"
	case kindCheckpoint, kindCheckpointV1:
		return "checkpoint"
	case kindAddMember:
		return "add-member"
	case kindRemoveMember:
		return "remove-member"
	case kindSetPartitions:
		return "set-partitions"
	case kindAssign:
		return "assign"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Integers of binary bodies are big-endian.
var be = binary.BigEndian

// catalogCmd replaces the catalog document if its revision is still From.
type catalogCmd struct {
	From uint64
	Doc  []byte
}

func encodeCatalog(c catalogCmd) []byte {
	b := make([]byte, 1+8+len(c.Doc))
	b[0] = byte(kindCatalog)
	be.PutUint64(b[1:], c.From)
	copy(b[9:], c.Doc)
	return b
}

// decodeCatalog decodes the body of a catalog command. The document is
// copied: the state outlives the log entry's buffer.
func decodeCatalog(body []byte) (catalogCmd, error) {
	if len(body) < 8 {
		return catalogCmd{}, fmt.Errorf("%w: catalog command of %d bytes", ErrCorrupt, len(body))
	}
	doc := make([]byte, len(body)-8)
	copy(doc, body[8:])
	return catalogCmd{From: be.Uint64(body), Doc: doc}, nil
}

// checkpointCmd records Meta for Partition if Epoch is still its epoch.
type checkpointCmd struct {
	Partition Partition
	Epoch     uint64
	Meta      CheckpointMeta
}

// checkpointHeader is the size of a checkpoint body's fixed fields, up to
// the topic's length; checkpointV1Header that of the first encoding's, up
// to the topic.
const (
	checkpointHeader   = 8 + 8 + 8 + 8 + 8 + 4 + 2
	checkpointV1Header = 8 + 8 + 8 + 8 + 4
)

// encodeCheckpoint encodes c as a kindCheckpoint command. Kafka limits a
// topic's name to 249 characters, far below the length field's limit;
// validPartition has checked it is not empty.
func encodeCheckpoint(c checkpointCmd) []byte {
	topic := c.Partition.Topic
	b := make([]byte, 1+checkpointHeader+len(topic))
	b[0] = byte(kindCheckpoint)
	body := b[1:]
	be.PutUint64(body[0:], c.Epoch)
	be.PutUint64(body[8:], c.Meta.Offset)
	be.PutUint64(body[16:], uint64(c.Meta.Watermark))
	be.PutUint64(body[24:], c.Meta.AlertPosition)
	be.PutUint64(body[32:], uint64(c.Meta.Lag))
	be.PutUint32(body[40:], uint32(c.Partition.Partition))
	be.PutUint16(body[44:], uint16(len(topic)))
	copy(body[checkpointHeader:], topic)
	return b
}

// decodeCheckpoint decodes the body of a checkpoint command of kind k
// (kindCheckpoint or kindCheckpointV1).
func decodeCheckpoint(k kind, body []byte) (checkpointCmd, error) {
	header := checkpointHeader
	if k == kindCheckpointV1 {
		header = checkpointV1Header
	}
	if len(body) < header {
		return checkpointCmd{}, fmt.Errorf("%w: checkpoint command of %d bytes", ErrCorrupt, len(body))
	}
	// Both encodings start with epoch, offset, watermark and alert position.
	c := checkpointCmd{
		Epoch: be.Uint64(body),
		Meta: CheckpointMeta{
			Offset:        be.Uint64(body[8:]),
			Watermark:     int64(be.Uint64(body[16:])),
			AlertPosition: be.Uint64(body[24:]),
			Lag:           LagUnknown,
		},
	}
	if k == kindCheckpointV1 { // then partition and the topic, to the end
		c.Partition = Partition{Partition: int32(be.Uint32(body[32:])), Topic: string(body[header:])}
		return c, nil
	}
	n := int(be.Uint16(body[44:]))
	if len(body) < header+n {
		return checkpointCmd{}, fmt.Errorf("%w: checkpoint command of %d bytes with a topic of %d", ErrCorrupt, len(body), n)
	}
	c.Meta.Lag = max(int64(be.Uint64(body[32:])), LagUnknown)
	c.Partition = Partition{Partition: int32(be.Uint32(body[40:])), Topic: string(body[header : header+n])}
	return c, nil
}

// addMemberCmd adds a member, or updates its addresses. Joined is the
// proposer's clock, unix nanoseconds: Apply reads no clock.
type addMemberCmd struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	APIAddr  string `json:"api_addr"`
	Joined   int64  `json:"joined"`
}

type removeMemberCmd struct {
	ID string `json:"id"`
}

// setPartitionsCmd replaces the set of known partitions.
type setPartitionsCmd struct {
	Partitions []partitionJSON `json:"partitions"`
}

type partitionJSON struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

// assignCmd is one decision of the rebalancer: new owners for partitions
// and new liveness states for members, applied together or not at all.
type assignCmd struct {
	Assign []assignment  `json:"assign,omitempty"`
	States []stateChange `json:"states,omitempty"`
}

// assignment gives Partition to Owner ("" to unassign it) if its epoch is
// still From, the epoch the rebalancer computed from.
type assignment struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	From      uint64 `json:"from"`
	Owner     string `json:"owner"`
}

type stateChange struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

// encodeJSON encodes a command with a JSON body. The command types above
// always encode.
func encodeJSON(k kind, v any) []byte {
	body, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("raftstate: encoding %s command: %v", k, err))
	}
	return append([]byte{byte(k)}, body...)
}

func decodeJSON(k kind, body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %s command: %v", ErrCorrupt, k, err)
	}
	return nil
}
