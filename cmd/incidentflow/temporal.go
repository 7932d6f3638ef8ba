package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/incidentflow/incidentflow/worker"
	"github.com/incidentflow/incidentflow/workflows"
)

// dialTemporal is the one way incidentflow builds a Temporal client. It fails
// when the frontend does not answer within ten seconds. The SDK's metrics go
// to reg when it is given.
func dialTemporal(ctx context.Context, c temporalConfig, logger *slog.Logger, reg prometheus.Registerer) (client.Client, error) {
	opts := client.Options{
		HostPort:  c.address,
		Namespace: c.namespace,
		// The SDK logs a lot at info; its warnings are what an operator needs.
		Logger: sdklog.NewStructuredLogger(slog.New(levelFloor{logger.Handler(), slog.LevelWarn})),
	}
	if c.tlsCert != "" || c.tlsCA != "" || c.tlsSN != "" {
		tlsConf := &tls.Config{ServerName: c.tlsSN, MinVersion: tls.VersionTLS12}
		if c.tlsCert != "" {
			cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
			if err != nil {
				return nil, fmt.Errorf("temporal client certificate: %w", err)
			}
			tlsConf.Certificates = []tls.Certificate{cert}
		}
		if c.tlsCA != "" {
			pem, err := os.ReadFile(c.tlsCA)
			if err != nil {
				return nil, fmt.Errorf("temporal CA: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("temporal CA %s holds no PEM certificate", c.tlsCA)
			}
			tlsConf.RootCAs = pool
		}
		opts.ConnectionOptions.TLS = tlsConf
	}
	if reg != nil {
		opts.MetricsHandler = worker.SDKMetrics(reg)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cl, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("temporal at %s (namespace %s) is unreachable: %w", c.address, c.namespace, err)
	}
	return cl, nil
}

// registerSearchAttributes adds the incident search attributes the namespace
// lacks, through the operator service, and returns those it added. Running
// it again changes nothing. Replicas may run it together: Temporal refuses
// the loser of two concurrent additions ("mapping unavailable", a namespace
// update conflict), so it lists again and retries, a few times, until the
// attributes are there.
func registerSearchAttributes(ctx context.Context, cl client.Client, namespace string) ([]string, error) {
	var lastErr error
	for attempt := range 6 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
			}
		}
		have, err := cl.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
		if err != nil {
			lastErr = fmt.Errorf("list search attributes of %s: %w", namespace, err)
			continue
		}
		missing := map[string]enumspb.IndexedValueType{}
		var added []string
		for _, name := range workflows.SearchAttributeNames {
			if _, ok := have.GetCustomAttributes()[name]; !ok {
				missing[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
				added = append(added, name)
			}
		}
		if len(missing) == 0 {
			return nil, nil
		}
		_, err = cl.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing})
		if err == nil {
			return added, nil
		}
		lastErr = fmt.Errorf("add search attributes to %s: %w", namespace, err)
	}
	return nil, lastErr
}

// levelFloor drops records below a level before they reach the handler.
type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (l levelFloor) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= l.min && l.Handler.Enabled(ctx, level)
}

func (l levelFloor) WithAttrs(attrs []slog.Attr) slog.Handler {
	return levelFloor{l.Handler.WithAttrs(attrs), l.min}
}

func (l levelFloor) WithGroup(name string) slog.Handler {
	return levelFloor{l.Handler.WithGroup(name), l.min}
}
