package ratelimit

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseLimit reads a Limit as an operator writes it in a flag:
//
//	20/s,burst=40,concurrency=16   rate, bucket size, calls in flight
//	5/s                            burst defaults to twice the rate (at least 1)
//	concurrency=2                  no rate limit, at most 2 in flight
//	off                            unlimited
//
// Every part is checked; a typo is an error naming it, never ignored.
func ParseLimit(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	if s == "off" {
		return Limit{}, nil
	}
	if s == "" {
		return Limit{}, fmt.Errorf(`empty limit: write "off" or e.g. "20/s,burst=40,concurrency=16"`)
	}
	var l Limit
	burstSet := false
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		key, val, isKV := strings.Cut(part, "=")
		if !isKV {
			key = "rate"
		}
		if seen[key] {
			return Limit{}, fmt.Errorf("limit %q: %s is given twice", s, key)
		}
		seen[key] = true
		switch key {
		case "rate":
			r, ok := strings.CutSuffix(part, "/s")
			f, err := strconv.ParseFloat(r, 64)
			if !ok || err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
				return Limit{}, fmt.Errorf("limit %q: %q is not a rate: write requests per second as N/s, e.g. 20/s or 0.5/s", s, part)
			}
			l.Rate = f
		case "burst", "concurrency":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 {
				return Limit{}, fmt.Errorf("limit %q: %s must be a whole number of at least 1, got %q", s, key, val)
			}
			if key == "burst" {
				l.Burst, burstSet = n, true
			} else {
				l.Concurrency = n
			}
		default:
			return Limit{}, fmt.Errorf("limit %q: unknown part %q (want N/s, burst=N, concurrency=N, or off)", s, key)
		}
	}
	switch {
	case burstSet && l.Rate == 0:
		return Limit{}, fmt.Errorf("limit %q: burst needs a rate (N/s)", s)
	case l.Rate > 0 && !burstSet:
		l.Burst = max(1, int(math.Ceil(2*l.Rate)))
	}
	return l, nil
}

// String writes l in ParseLimit's form.
func (l Limit) String() string {
	var parts []string
	if l.Rate > 0 {
		parts = append(parts, strconv.FormatFloat(l.Rate, 'g', -1, 64)+"/s", "burst="+strconv.Itoa(l.Burst))
	}
	if l.Concurrency > 0 {
		parts = append(parts, "concurrency="+strconv.Itoa(l.Concurrency))
	}
	if len(parts) == 0 {
		return "off"
	}
	return strings.Join(parts, ",")
}
