package worker

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/store"
)

type writes struct {
	mu      sync.Mutex
	batches [][]store.RunState
}

func (w *writes) WriteRunStates(_ context.Context, states []store.RunState) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.batches = append(w.batches, states)
	return nil
}

// A run that moves many times in a moment is written once, at its newest
// (an older state published late is not kept), all runs in one batch, and
// what is published last before the worker stops is written as it stops.
func TestStatesAreWrittenNewestAndTogether(t *testing.T) {
	w := &writes{}
	s := &states{store: w, logger: slog.New(slog.DiscardHandler), latest: map[string]published{}, stop: make(chan struct{}), done: make(chan struct{})}
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for v := int64(1); v <= 5; v++ {
		s.Publish("INC-1", v, at, json.RawMessage(`{"v":`+string(rune('0'+v))+`}`))
	}
	s.Publish("INC-1", 3, at, json.RawMessage(`{"v":3}`))
	s.Publish("INC-2", 1, at, json.RawMessage(`{"w":1}`))
	go s.run()
	s.close()
	require.Len(t, w.batches, 1, "one transaction for the moment's states")
	got := map[string]store.RunState{}
	for _, st := range w.batches[0] {
		got[st.Ref] = st
	}
	require.Len(t, got, 2)
	require.Equal(t, int64(5), got["INC-1"].Version)
	require.JSONEq(t, `{"v":5}`, string(got["INC-1"].State))
	require.Equal(t, int64(1), got["INC-2"].Version)
}
