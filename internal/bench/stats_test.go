package bench

import (
	"math"
	"testing"
)

func TestSeries(t *testing.T) {
	var s Series
	if !math.IsNaN(s.Median()) || !math.IsNaN(s.Min()) || !math.IsNaN(s.Max()) {
		t.Fatalf("empty series: median %v min %v max %v; want NaN", s.Median(), s.Min(), s.Max())
	}
	for _, v := range []float64{5, math.NaN(), 1, math.Inf(1), 3} {
		s.Add(v)
	}
	if len(s) != 3 {
		t.Fatalf("Add kept %v; want the 3 finite values", s)
	}
	if s.Median() != 3 || s.Min() != 1 || s.Max() != 5 {
		t.Errorf("median/min/max = %v/%v/%v; want 3/1/5", s.Median(), s.Min(), s.Max())
	}
	s.Add(4)
	if s.Median() != 3.5 {
		t.Errorf("median of 1 3 4 5 = %v; want 3.5", s.Median())
	}
	if s[0] != 5 {
		t.Errorf("Median reordered the series: %v", s)
	}
}

func TestPercentile(t *testing.T) {
	v := make([]float64, 0, 200)
	for i := 200; i >= 1; i-- {
		v = append(v, float64(i))
	}
	for _, c := range []struct{ p, want float64 }{{50, 100}, {99, 198}, {100, 200}, {0.1, 1}} {
		if got := Percentile(v, c.p); got != c.want {
			t.Errorf("Percentile(1..200, %v) = %v; want %v", c.p, got, c.want)
		}
	}
	if got := Percentile([]float64{7}, 99); got != 7 {
		t.Errorf("Percentile of one value = %v; want 7", got)
	}
	for _, p := range []float64{0, -1, 101} {
		if !math.IsNaN(Percentile(v, p)) {
			t.Errorf("Percentile(p=%v) should be NaN", p)
		}
	}
	if !math.IsNaN(Percentile(nil, 50)) {
		t.Error("Percentile of nothing should be NaN")
	}
}

func TestRatios(t *testing.T) {
	got := Ratios([]float64{2, math.NaN(), 3, 4}, []float64{4, 1, 0, 2, 9})
	if len(got) != 2 || got[0] != 0.5 || got[1] != 2 {
		t.Errorf("Ratios = %v; want [0.5 2] (NaN run, zero divisor and unpaired value left out)", got)
	}
}

func TestUnitFormat(t *testing.T) {
	for _, c := range []struct {
		u    Unit
		v    float64
		want string
	}{
		{UnitRatio, 0.98765, "0.988"},
		{UnitPPS, 123456, "123.5k pkt/s"},
		{UnitPPS, 2.5e6, "2.50M pkt/s"},
		{UnitPPS, 999, "999 pkt/s"},
		{UnitBits, 9.41e9, "9.41 Gbit/s"},
		{UnitBits, 429.4e6, "429.4 Mbit/s"},
		{UnitSeconds, 1.5, "1.50 s"},
		{UnitSeconds, 0.0123, "12.30 ms"},
		{UnitSeconds, 0.000456, "456 µs"},
		{UnitBytes, 33.4e6, "33.4 MB"},
		{UnitCount, 3, "3"},
		{UnitRatio, math.NaN(), "–"},
	} {
		if got := c.u.Format(c.v); got != c.want {
			t.Errorf("Format(%v) = %q; want %q", c.v, got, c.want)
		}
	}
	if got := UnitRatio.Summary(Series{0.9, 1, 0.95}); got != "0.950 [0.900 – 1.000] (3 runs)" {
		t.Errorf("Summary = %q", got)
	}
	if got := UnitRatio.Summary(nil); got != "no successful run" {
		t.Errorf("Summary(nil) = %q", got)
	}
}

func TestCheckVerdict(t *testing.T) {
	for _, c := range []struct {
		c    Check
		want string
	}{
		{Check{Values: Series{0.981, 0.99, 0.985}, AtLeast: true, Limit: 0.98}, "met"},
		{Check{Values: Series{0.97, 0.975, 0.979}, AtLeast: true, Limit: 0.98}, "NOT met"},
		// The median meets it, the interval straddles it: undecided.
		{Check{Values: Series{0.97, 0.99, 0.98}, AtLeast: true, Limit: 0.98}, "undecided"},
		{Check{Values: Series{0.60, 1.26, 0.817}, AtLeast: true, Limit: 0.9}, "undecided"},
		{Check{Values: Series{0.99, 1.0, 0.98}, AtLeast: true, Limit: 0.9, GeneratorBound: true}, "undecided (generator-bound)"},
		{Check{Values: Series{1.2e-3}, Limit: 1e-3}, "NOT met"},
		{Check{Values: Series{0.8e-3}, Limit: 1e-3}, "met"},
		{Check{Limit: 1}, "not measured"},
	} {
		if got := c.c.Verdict(); got != c.want {
			t.Errorf("%+v: %q; want %q", c.c, got, c.want)
		}
	}
	if c := MedianConfidence(5); c != 0.9375 {
		t.Errorf("MedianConfidence(5) = %v", c)
	}
	if got := (Check{Unit: UnitRatio, AtLeast: true, Limit: 0.9}).Target(); got != "≥ 0.900" {
		t.Errorf("Target = %q", got)
	}
}

func TestGeneratorBoundRuns(t *testing.T) {
	for _, c := range []struct {
		measured, offered Series
		want              bool
	}{
		{Series{180e3, 183e3, 181e3}, Series{190e3, 190e3, 190e3}, false}, // ~95 %: the reader is the limit
		{Series{189e3, 190e3, 188e3}, Series{190e3, 191e3, 190e3}, true},  // took all it was offered
		{Series{100e3}, Series{0}, false},                                 // offered unknown
		{Series{1, 2}, Series{1}, false},                                  // runs do not pair up
		{nil, nil, false},
	} {
		if got := GeneratorBoundRuns(c.measured, c.offered); got != c.want {
			t.Errorf("GeneratorBoundRuns(%v, %v) = %v, want %v", c.measured, c.offered, got, c.want)
		}
	}
}

func TestStealShare(t *testing.T) {
	a := []uint64{100, 0, 50, 800, 10, 0, 0, 40, 0, 0}
	b := []uint64{200, 0, 100, 1600, 20, 0, 0, 80, 0, 0}
	// 1000 jiffies in all between the two readings, 40 of them stolen.
	if got := StealShare(a, b); math.Abs(got-0.04) > 1e-9 {
		t.Errorf("StealShare = %v, want 0.04", got)
	}
	if got := StealShare(nil, b); !math.IsNaN(got) {
		t.Errorf("no first reading: %v, want NaN", got)
	}
	if got := StealShare(b, b); !math.IsNaN(got) {
		t.Errorf("no time between the readings: %v, want NaN", got)
	}
}
