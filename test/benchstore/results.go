package benchstore

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder writes one TSV line per figure to $BENCH_OUT (if set):
//
//	figure <TAB> server <TAB> value <TAB> unit <TAB> note
//
// value is "NA" when the figure could not be measured; note then says why.
type recorder struct {
	path string
	mu   sync.Mutex
}

func newRecorder(tb testing.TB) *recorder {
	r := &recorder{path: os.Getenv("BENCH_OUT")}
	if r.path != "" {
		if err := os.WriteFile(r.path, nil, 0o644); err != nil {
			tb.Fatalf("BENCH_OUT: %v", err)
		}
	}
	return r
}

// add reports a figure on b and records it.
func (r *recorder) add(b *testing.B, figure, server string, value float64, unit, note string) {
	b.ReportMetric(value, unit)
	r.write(figure, server, fmt.Sprintf("%.6g", value), unit, note)
}

// addAs is add with a metric unit of its own for b (several servers'
// figures reported on one sub-benchmark).
func (r *recorder) addAs(b *testing.B, figure, server string, value float64, unit, metricUnit, note string) {
	b.ReportMetric(value, metricUnit)
	r.write(figure, server, fmt.Sprintf("%.6g", value), unit, note)
}

// missing records that a figure could not be measured, and why.
func (r *recorder) missing(figure, server string, why error) {
	r.write(figure, server, "NA", "", why.Error())
}

// built records how long building a folder took (no figure: the script
// lists these apart).
func (r *recorder) built(what, server string, d time.Duration, note string) {
	r.write("build-"+what, server, fmt.Sprintf("%.1f", d.Seconds()), "s", note)
}

func (r *recorder) write(fields ...string) {
	if r.path == "" {
		return
	}
	for i, f := range fields {
		f = strings.NewReplacer("\t", " ", "\n", " ", "\r", "").Replace(f)
		if len(f) > 300 {
			f = f[:300] + "..."
		}
		fields[i] = f
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	f, err := os.OpenFile(r.path, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintln(f, strings.Join(fields, "\t"))
}
