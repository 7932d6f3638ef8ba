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
