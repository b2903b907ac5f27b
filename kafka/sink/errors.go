package sink

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

var (
	// ErrInvalidConfig is wrapped by the error Config.Validate returns.
	ErrInvalidConfig = errors.New("sink: invalid config")

	// ErrFenced is returned by Run when a newer sink with the same SinkID
	// took over the transactional id: the broker refused this sink's
	// producer epoch. The sink can no longer commit; the newer one goes on
	// from the position this one committed last. The error wraps the
	// broker's (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH or
	// INVALID_TXN_STATE). A transaction the broker aborted for exceeding
	// Config.TransactionTimeout looks the same to the client and is
	// reported the same way; a caller that restarts the sink (New again)
	// takes the transactional id back.
	ErrFenced = errors.New("sink: fenced by a newer sink with the same SinkID")

	// ErrPositionAhead is returned by New and Run when the position
	// committed in Kafka is past the end of the alert log: the log was
	// replaced or restored from an older checkpoint after the sink had
	// delivered later alerts. Relaying on would skip the alerts that the
	// log numbers anew below the position, so the sink stops; delete the
	// group "motif-sink-<SinkID>" (or use a new SinkID) to relay the log
	// again from its start.
	ErrPositionAhead = errors.New("sink: committed position is past the end of the alert log")

	// ErrTopicNotFound is returned by New and Run when the alert topic does
	// not exist. The sink does not create it.
	ErrTopicNotFound = errors.New("sink: alert topic does not exist")

	// ErrRunning is returned by Run while another call of Run is running.
	ErrRunning = errors.New("sink: Run is already running")

	// ErrClosed is returned by Run after Close.
	ErrClosed = errors.New("sink: closed")
)

// fatalCodes are the broker errors that retrying cannot cure: the sink
// stops and reports them rather than retrying forever.
var fatalCodes = []error{
	kerr.TransactionalIDAuthorizationFailed,
	kerr.TopicAuthorizationFailed,
	kerr.GroupAuthorizationFailed,
	kerr.ClusterAuthorizationFailed,
	kerr.SaslAuthenticationFailed,
	kerr.InvalidTransactionTimeout,
	kerr.MessageTooLarge,
	kerr.RecordListTooLarge,
	kerr.InvalidRecord,
}

// fenceCodes are the broker's answers to a producer whose epoch is no
// longer the newest: another producer initialised the same transactional
// id (or the broker timed the transaction out). INVALID_TXN_STATE is among
// them: the sink never asks for a transition its own transaction cannot
// make, so the state was changed by someone else; a broker answers it to
// the commit of a transaction that a newer producer's initialisation
// aborted. Retrying any of these would initialise the producer id again
// and fence the newer sink in turn.
var fenceCodes = []error{kerr.ProducerFenced, kerr.InvalidProducerEpoch, kerr.InvalidTxnState}

// classify returns err as Run reports it, and whether it is fatal. A fence
// is wrapped in ErrFenced. The sink's own stops (ErrPositionAhead,
// ErrTopicNotFound), errors reading the alert log and the broker errors
// of fatalCodes are fatal; every other error is transient, retried with a
// new connection.
func classify(err error) (_ error, fatal bool) {
	for _, c := range fenceCodes {
		if errors.Is(err, c) && !errors.Is(err, ErrFenced) {
			return fmt.Errorf("%w: %w", ErrFenced, err), true
		}
	}
	if errors.Is(err, ErrFenced) || errors.Is(err, ErrPositionAhead) || errors.Is(err, ErrTopicNotFound) {
		return err, true
	}
	if le := (*logError)(nil); errors.As(err, &le) {
		return err, true
	}
	for _, c := range fatalCodes {
		if errors.Is(err, c) {
			return err, true
		}
	}
	return err, false
}
