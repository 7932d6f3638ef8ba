package worker

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/incidentflow/incidentflow/workflows"
)

// StateWriter is a store that keeps what runs publish of their states.
type StateWriter interface {
	WriteRunState(ctx context.Context, ref string, version int64, at time.Time, state json.RawMessage) error
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

// write writes what was published since the last write. A state the store
// refuses is dropped: the run's next change carries a newer one.
func (s *states) write() {
	s.mu.Lock()
	batch := s.latest
	s.latest = map[string]published{}
	s.mu.Unlock()
	for ref, p := range batch {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.store.WriteRunState(ctx, ref, p.version, p.at, p.state); err != nil {
			s.logger.Warn("could not write a run's state; its next change carries it", "incident", ref, "error", err)
		}
		cancel()
	}
}

// close writes what is left and stops.
func (s *states) close() {
	close(s.stop)
	<-s.done
}
