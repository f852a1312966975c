package bench

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Series is one figure measured in several runs.
type Series []float64

// Add appends a run's value; NaN (a failed run) is dropped.
func (s *Series) Add(v float64) {
	if !math.IsNaN(v) && !math.IsInf(v, 0) {
		*s = append(*s, v)
	}
}

// Median is the median of the runs (the mean of the two middle values for an
// even count); NaN when there are none.
func (s Series) Median() float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	c := slices.Clone([]float64(s))
	slices.Sort(c)
	n := len(c)
	if n%2 == 1 {
		return c[n/2]
	}
	return (c[n/2-1] + c[n/2]) / 2
}

// MedianInterval bounds the median of the population the runs come from:
// the smallest and the largest run, a distribution-free interval whose
// confidence is 1 − 2·0.5ⁿ for n runs (75 % for 3, 94 % for 5, 98 % for
// 7). NaN, NaN when there are none.
func (s Series) MedianInterval() (lo, hi float64) {
	return s.Min(), s.Max()
}

// MedianConfidence is MedianInterval's confidence for n runs.
func MedianConfidence(n int) float64 {
	if n <= 0 {
		return 0
	}
	return 1 - 2*math.Pow(0.5, float64(n))
}

// Min and Max are the spread of the runs; NaN when there are none.
func (s Series) Min() float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	return slices.Min(s)
}

func (s Series) Max() float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	return slices.Max(s)
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of values by the
// nearest-rank method; NaN for no values.
func Percentile(values []float64, p float64) float64 {
	if len(values) == 0 || p <= 0 || p > 100 {
		return math.NaN()
	}
	c := slices.Clone(values)
	slices.Sort(c)
	rank := int(math.Ceil(p / 100 * float64(len(c))))
	return c[max(rank, 1)-1]
}

// Ratios returns a[i]/b[i] for the runs where both exist and b is not zero:
// a ratio is formed within one run, so that both sides saw the same machine
// state.
func Ratios(a, b []float64) Series {
	var out Series
	for i := range min(len(a), len(b)) {
		if b[i] != 0 {
			out.Add(a[i] / b[i])
		}
	}
	return out
}

// Unit formats a value of a series.
type Unit int

const (
	UnitRatio   Unit = iota // 0.987
	UnitPPS                 // 123.4k pkt/s
	UnitBits                // 9.41 Gbit/s
	UnitSeconds             // 1.234 s / 12.3 ms / 456 µs
	UnitBytes               // 23.4 MB
	UnitCount               // 1000000
)

// Format formats v in unit u; "–" for NaN.
func (u Unit) Format(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	switch u {
	case UnitRatio:
		return fmt.Sprintf("%.3f", v)
	case UnitPPS:
		switch {
		case v >= 1e6:
			return fmt.Sprintf("%.2fM pkt/s", v/1e6)
		case v >= 1e3:
			return fmt.Sprintf("%.1fk pkt/s", v/1e3)
		}
		return fmt.Sprintf("%.0f pkt/s", v)
	case UnitBits:
		switch {
		case v >= 1e9:
			return fmt.Sprintf("%.2f Gbit/s", v/1e9)
		case v >= 1e6:
			return fmt.Sprintf("%.1f Mbit/s", v/1e6)
		}
		return fmt.Sprintf("%.0f kbit/s", v/1e3)
	case UnitSeconds:
		d := time.Duration(v * float64(time.Second))
		switch {
		case d >= time.Second:
			return fmt.Sprintf("%.2f s", v)
		case d >= time.Millisecond:
			return fmt.Sprintf("%.2f ms", v*1e3)
		}
		return fmt.Sprintf("%.0f µs", v*1e6)
	case UnitBytes:
		return fmt.Sprintf("%.1f MB", v/1e6)
	}
	return fmt.Sprintf("%.0f", v)
}

// Summary formats a series as "median [min–max] (n runs)".
func (u Unit) Summary(s Series) string {
	switch len(s) {
	case 0:
		return "no successful run"
	case 1:
		return u.Format(s[0]) + " (1 run)"
	}
	return fmt.Sprintf("%s [%s – %s] (%d runs)", u.Format(s.Median()), u.Format(s.Min()), u.Format(s.Max()), len(s))
}
