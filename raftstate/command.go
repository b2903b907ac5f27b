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
type kind byte

const (
	kindCatalog       kind = 1 // from:u64 doc
	kindCheckpoint    kind = 2 // epoch:u64 offset:u64 watermark:i64 alert:u64 partition:i32 topic
	kindAddMember     kind = 3 // JSON addMemberCmd
	kindRemoveMember  kind = 4 // JSON removeMemberCmd
	kindSetPartitions kind = 5 // JSON setPartitionsCmd
	kindAssign        kind = 6 // JSON assignCmd
)

func (k kind) String() string {
	switch k {
	case kindCatalog:
		return "catalog"
	case kindCheckpoint:
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

const checkpointHeader = 8 + 8 + 8 + 8 + 4

func encodeCheckpoint(c checkpointCmd) []byte {
	b := make([]byte, 1+checkpointHeader+len(c.Partition.Topic))
	b[0] = byte(kindCheckpoint)
	be.PutUint64(b[1:], c.Epoch)
	be.PutUint64(b[9:], c.Meta.Offset)
	be.PutUint64(b[17:], uint64(c.Meta.Watermark))
	be.PutUint64(b[25:], c.Meta.AlertPosition)
	be.PutUint32(b[33:], uint32(c.Partition.Partition))
	copy(b[37:], c.Partition.Topic)
	return b
}

func decodeCheckpoint(body []byte) (checkpointCmd, error) {
	if len(body) < checkpointHeader {
		return checkpointCmd{}, fmt.Errorf("%w: checkpoint command of %d bytes", ErrCorrupt, len(body))
	}
	return checkpointCmd{
		Epoch: be.Uint64(body),
		Meta: CheckpointMeta{
			Offset:        be.Uint64(body[8:]),
			Watermark:     int64(be.Uint64(body[16:])),
			AlertPosition: be.Uint64(body[24:]),
		},
		Partition: Partition{
			Partition: int32(be.Uint32(body[32:])),
			Topic:     string(body[checkpointHeader:]),
		},
	}, nil
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
