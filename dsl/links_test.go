package dsl_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/dsl"
)

func TestFillLinks(t *testing.T) {
	msg := "Ack: " + dsl.LinkMarker(dsl.LinkAcknowledge, "") + " or done: " + dsl.LinkMarker(dsl.LinkComplete, "INC-7-T1") + " ⟦link:broken"
	require.True(t, dsl.HasLink(msg, dsl.LinkAcknowledge))
	require.False(t, dsl.HasLink(msg, dsl.LinkApprove))
	got := dsl.FillLinks(msg, func(action, target string) string { return "<" + action + "|" + target + ">" })
	require.Equal(t, "Ack: <acknowledge|> or done: <complete|INC-7-T1> ⟦link:broken", got)
}

// An approve link gives the approvals its message was sent for: its marker
// carries their numbers, and only numbers read as a target.
func TestApproveMarkerNamesItsApprovals(t *testing.T) {
	msg, err := dsl.Render("{{ .Links.Approve }}", dsl.TemplateData(dsl.Facts{Ref: "INC-1", Approvals: []int{2, 3}}, dsl.Links{}))
	require.NoError(t, err)
	var got string
	dsl.FillLinks(msg, func(action, target string) string { got = action + " " + target; return "" })
	require.Equal(t, "approve 2,3", got)
	seqs, err := dsl.ApprovalsOf("2,3")
	require.NoError(t, err)
	require.Equal(t, []int{2, 3}, seqs)
	none, err := dsl.ApprovalsOf("")
	require.NoError(t, err)
	require.Nil(t, none, "a link made before links named approvals")
	for _, bad := range []string{"x", "0", "1,", ",1", "-1", "1;2"} {
		_, err := dsl.ApprovalsOf(bad)
		require.Error(t, err, bad)
	}
}
