package worker

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/incidentflow/incidentflow/store"
	"github.com/incidentflow/incidentflow/workflows"
)

// StateWriter is a store that keeps what runs publish of their states.
type StateWriter interface {
	WriteRunStates(ctx context.Context, states []store.RunState) error
}

// stateEvery is how soon a published state reaches the store.
const stateEvery = 50 * time.Millisecond

// states writes the states the worker's runs publish to the store, the
// latest of each run, every stateEvery: a run that moves many times in a
// moment is written once.
type states struct {
	store  StateWriter
	logger *slog.Logger
	mu     sync.Mutex
	latest map[string]published
	stop   chan struct{}
	done   chan struct{}
}

type published struct {
	version int64
	at      time.Time
	state   json.RawMessage
}

var _ workflows.StateSink = (*states)(nil)

func newStates(store StateWriter, logger *slog.Logger) *states {
	s := &states{store: store, logger: logger, latest: map[string]published{}, stop: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

// Publish keeps the state until the next write.
func (s *states) Publish(ref string, version int64, at time.Time, state json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.latest[ref]; !ok || old.version < version {
		s.latest[ref] = published{version: version, at: at, state: state}
	}
}

func (s *states) run() {
	defer close(s.done)
	tick := time.NewTicker(stateEvery)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			s.write()
			return
		case <-tick.C:
			s.write()
		}
	}
}

// write writes what was published since the last write, in one
// transaction. States the store refuses are dropped: each run's next
// change carries a newer one.
func (s *states) write() {
	s.mu.Lock()
	batch := s.latest
	s.latest = map[string]published{}
	s.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	list := make([]store.RunState, 0, len(batch))
	for ref, p := range batch {
		list = append(list, store.RunState{Ref: ref, Version: p.version, At: p.at, State: p.state})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.store.WriteRunStates(ctx, list); err != nil {
		s.logger.Warn("could not write runs' states; their next changes carry them", "runs", len(list), "error", err)
	}
}

// close writes what is left and stops.
func (s *states) close() {
	close(s.stop)
	<-s.done
}
