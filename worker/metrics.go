package worker

import (
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// sdkLabels are the tags the Temporal SDK puts on its metrics, as Prometheus
// labels; a tag the SDK sets that is not here is dropped, one it leaves unset
// is empty, so each metric keeps one label set.
var sdkLabels = []string{"namespace", "task_queue", "workflow_type", "activity_type", "operation",
	"worker_type", "poller_type", "status_code", "cause", "failure_reason"}

// SDKMetrics makes the Temporal SDK's own metrics (task latencies, polls,
// slots, sticky cache, request failures) Prometheus metrics in reg: counters
// as NAME_total, timers as NAME_seconds histograms, gauges as they are.
func SDKMetrics(reg prometheus.Registerer) client.MetricsHandler {
	return sdkHandler{vecs: &sdkVecs{reg: reg, vecs: map[string]any{}}, tags: map[string]string{}}
}

type sdkVecs struct {
	reg  prometheus.Registerer
	mu   sync.Mutex
	vecs map[string]any
}

// get returns the vector registered under name, making it with mk the first
// time (or taking the one already in the registry).
func (v *sdkVecs) get(name string, mk func() prometheus.Collector) any {
	v.mu.Lock()
	defer v.mu.Unlock()
	if c, ok := v.vecs[name]; ok {
		return c
	}
	c := mk()
	if err := v.reg.Register(c); err != nil {
		var already prometheus.AlreadyRegisteredError
		if errors.As(err, &already) {
			c = already.ExistingCollector
		}
	}
	v.vecs[name] = c
	return c
}

type sdkHandler struct {
	vecs *sdkVecs
	tags map[string]string
}

func (h sdkHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	return sdkHandler{vecs: h.vecs, tags: merged}
}

func (h sdkHandler) labels() prometheus.Labels {
	l := make(prometheus.Labels, len(sdkLabels))
	for _, k := range sdkLabels {
		l[k] = h.tags[k]
	}
	return l
}

func (h sdkHandler) Counter(name string) client.MetricsCounter {
	vec, ok := h.vecs.get(name+"_total", func() prometheus.Collector {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name + "_total", Help: "Temporal SDK counter " + name + "."}, sdkLabels)
	}).(*prometheus.CounterVec)
	if !ok {
		return client.MetricsNopHandler.Counter(name)
	}
	return sdkCounter{vec.With(h.labels())}
}

func (h sdkHandler) Gauge(name string) client.MetricsGauge {
	vec, ok := h.vecs.get(name, func() prometheus.Collector {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: "Temporal SDK gauge " + name + "."}, sdkLabels)
	}).(*prometheus.GaugeVec)
	if !ok {
		return client.MetricsNopHandler.Gauge(name)
	}
	return sdkGauge{vec.With(h.labels())}
}

func (h sdkHandler) Timer(name string) client.MetricsTimer {
	vec, ok := h.vecs.get(name+"_seconds", func() prometheus.Collector {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name + "_seconds", Help: "Temporal SDK timer " + name + ".",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 14)}, sdkLabels)
	}).(*prometheus.HistogramVec)
	if !ok {
		return client.MetricsNopHandler.Timer(name)
	}
	return sdkTimer{vec.With(h.labels())}
}

type sdkCounter struct{ c prometheus.Counter }

func (c sdkCounter) Inc(n int64) {
	if n > 0 {
		c.c.Add(float64(n))
	}
}

type sdkGauge struct{ g prometheus.Gauge }

func (g sdkGauge) Update(v float64) { g.g.Set(v) }

type sdkTimer struct{ o prometheus.Observer }

func (t sdkTimer) Record(d time.Duration) { t.o.Observe(d.Seconds()) }
