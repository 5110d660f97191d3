package counters

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Collector exposes a Set to Prometheus as msgplex_<service>_<name>
// ("global.numgoodlogins" becomes msgplex_proxy_global_numgoodlogins).
// Register it on your own registry; nothing here touches the global one.
type Collector struct {
	set     *Set
	service string
}

// NewCollector returns a Collector for s.
func NewCollector(s *Set, service string) *Collector {
	return &Collector{set: s, service: service}
}

// Describe implements prometheus.Collector (unchecked: extra gauges may
// appear at any time).
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, v := range c.set.Snapshot() {
		typ := prometheus.GaugeValue
		if c.set.cumulative(v.Name) {
			typ = prometheus.CounterValue
		}
		name := "msgplex_" + metricName(c.service) + "_" + metricName(v.Name)
		desc := prometheus.NewDesc(name, "msgplex counter "+v.Name+" (see counterutil -o imapstat)", nil, nil)
		m, err := prometheus.NewConstMetric(desc, typ, float64(v.Value))
		if err != nil {
			ch <- prometheus.NewInvalidMetric(desc, err)
			continue
		}
		ch <- m
	}
}
