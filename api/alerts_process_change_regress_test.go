package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/processes"
)

// Since f889b21 every firing alert's declaration is checked before
// anything is recorded, also an alert that declares nothing: one that
// joins the open incident its fingerprint already has. Once the process
// gains a required field no label fills (its YAML edited and deployed;
// open incidents go on under the version they were declared with), every
// notification of an alert group with an open incident is refused with
// 422 (which Alertmanager never retries): the repeats of its firing
// alerts, and the notification that carries one alert's resolution beside
// them, so the incident never hears it. Before, an alert joining its open
// incident was not declared again, and was taken.
func TestAlertJoiningItsIncidentIsNotCheckedAsADeclaration(t *testing.T) {
	s := setup(t)
	am := s.service(t, "alertmanager", incidentflow.RoleDeclarer)
	prefix := fmt.Sprintf("change-%d", time.Now().UnixNano())
	alert := func(i int, status string) string {
		return fmt.Sprintf(`{"status":%q,"fingerprint":"%s-%d","startsAt":"2026-12-01T10:00:00Z","labels":{"alertname":"Change%d","severity":"minor"}}`, status, prefix, i, i)
	}
	got := results(t, s.do(t, "POST", "/v1/alerts/alertmanager?type=engineering",
		`{"version":"4","status":"firing","alerts":[`+alert(0, "firing")+","+alert(1, "firing")+`]}`, am...))
	refs := map[string]bool{}
	for _, x := range got {
		require.Equal(t, "declared", x[0])
		refs[x[1]] = true
	}
	s.waitStarted(t, refs)

	// The same API, after a deploy whose engineering process has a new
	// required field.
	cat, err := dsl.Load(processes.FS, "processes")
	require.NoError(t, err)
	eng := cat.Processes["engineering"]
	eng.Fields = append(eng.Fields, dsl.FieldDef{Name: "owning_team", Type: "string", Required: true})
	post := ownServerWith(t, s.temporal, s.store, cat)

	r := post("/v1/alerts/alertmanager?type=engineering", `{"version":"4","status":"firing","alerts":[`+alert(0, "resolved")+","+alert(1, "firing")+`]}`, am...)
	require.Equal(t, http.StatusOK, r.status, "the group's notification, one alert resolved and one still firing, both of open incidents: %s", r.raw)
	after := results(t, r)
	require.Equal(t, "resolved", after[prefix+"-0"][0])
	require.Equal(t, "replayed", after[prefix+"-1"][0])
}
