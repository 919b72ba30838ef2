package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// trueQuantile is the nearest-rank quantile of a sorted slice, the definition Quantile follows.
func trueQuantile(sorted []time.Duration, q float64) time.Duration {
	rank := max(int(math.Ceil(q*float64(len(sorted)))), 1)
	return sorted[rank-1]
}

func TestHistogramQuantilesWithinPrecision(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	h := NewHistogram()
	var all []time.Duration
	for range 100_000 {
		// Log-uniform from 1 ns to about 10 s, like real latencies with a long tail.
		d := time.Duration(math.Exp(r.Float64() * math.Log(1e10)))
		h.Record(d)
		all = append(all, d)
	}
	slices.Sort(all)
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
		want := trueQuantile(all, q)
		got := h.Quantile(q)
		assert.GreaterOrEqual(t, got, want, "q=%v", q)
		assert.LessOrEqual(t, float64(got-want), float64(want)/subCount+1, "q=%v: got %v want %v", q, got, want)
	}
	assert.Equal(t, all[len(all)-1], h.Max())
	assert.Equal(t, all[0], h.Min())
	assert.Equal(t, uint64(len(all)), h.Count())
}

func TestHistogramSmallValuesExact(t *testing.T) {
	h := NewHistogram()
	for v := range 256 {
		h.Record(time.Duration(v))
	}
	for v := 1; v <= 256; v++ {
		assert.Equal(t, time.Duration(v-1), h.Quantile(float64(v)/256), "rank %d", v)
	}
}

func TestHistogramBucketsAreContiguous(t *testing.T) {
	// Every bucket's range starts right after the previous one's: no value is lost or
	// double counted between buckets, whatever its magnitude.
	for i := 1; i < numBuckets; i++ {
		lowI := bucketHigh(i-1) + 1
		require.Equal(t, i, bucketOf(lowI), "low end of bucket %d", i)
		require.Equal(t, i, bucketOf(bucketHigh(i)), "high end of bucket %d", i)
	}
	assert.Equal(t, numBuckets-1, bucketOf(math.MaxUint64))
}

func TestHistogramMergeEqualsRecordingAll(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	a, b, all := NewHistogram(), NewHistogram(), NewHistogram()
	for i := range 10_000 {
		d := time.Duration(r.Int64N(int64(time.Second)))
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
		all.Record(d)
	}
	a.Merge(b)
	assert.Equal(t, all.counts, a.counts)
	assert.Equal(t, all.Count(), a.Count())
	assert.Equal(t, all.Max(), a.Max())
	assert.Equal(t, all.Min(), a.Min())
	assert.InDelta(t, float64(all.Mean()), float64(a.Mean()), 1)
}

func TestHistogramEmptyAndNegative(t *testing.T) {
	h := NewHistogram()
	assert.Zero(t, h.Quantile(0.99))
	assert.Zero(t, h.Mean())
	assert.Zero(t, h.Min())
	h.Merge(NewHistogram())
	assert.Zero(t, h.Count())
	h.Record(-5)
	assert.Equal(t, time.Duration(0), h.Max())
	assert.Equal(t, uint64(1), h.Count())
}
