package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/store"
)

// A DeclareAlerts that fails tells its caller of every incident it
// recorded: the caller starts their runs and counts them, and a caller that
// hears only the error can do neither. Here the 252nd alert of 260 cannot
// be recorded (its fields do not encode); the first 250 must not be left
// recorded behind an error that names none of them.
func TestDeclareAlertsThatFailsLeavesNoIncidentItDoesNotReport(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		hash := mustSaveProcess(t, s)
		ds := make([]store.AlertDeclaration, 260)
		for i := range ds {
			inc := newIncident(hash, nil)
			if i == 251 {
				inc.Fields = map[string]any{"bad": func() {}}
			}
			ds[i] = store.AlertDeclaration{Alert: store.Alert{Source: "alertmanager", Fingerprint: fmt.Sprintf("chunk-%d", i), Status: "firing"}, Incident: inc}
		}
		got, err := s.DeclareAlerts(ctx, ds)
		require.Error(t, err)
		reported := 0
		for _, d := range got {
			if d.Created {
				reported++
			}
		}
		recorded, err := s.UnstartedIncidents(ctx, time.Now().Add(24*time.Hour*365*10), 1000)
		require.NoError(t, err)
		require.Equal(t, reported, len(recorded), "DeclareAlerts failed having recorded incidents it reports to no one")
	})
}
