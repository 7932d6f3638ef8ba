package devserver

import (
	"context"
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// An address another program holds is named, not a panic inside Temporal.
func TestStartNamesAnAddressInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = l.Close() }()
	_, err = Start(context.Background(), Options{FrontendAddr: l.Addr().String()})
	require.ErrorContains(t, err, "the Temporal server's address "+l.Addr().String()+" is in use by another program")

	free, err := FreePort("127.0.0.1")
	require.NoError(t, err)
	_, err = Start(context.Background(), Options{FrontendAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(free)), UIAddr: l.Addr().String()})
	require.ErrorContains(t, err, "the Temporal UI's address "+l.Addr().String()+" is in use")
}
