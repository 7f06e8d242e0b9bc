package loadgen

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeUnits maps the suffixes ParseSize accepts, lower-cased, to their
// multipliers: SI units are powers of 1000, IEC units powers of 1024.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1000, "kb": 1000, "kib": 1 << 10,
	"m": 1000 * 1000, "mb": 1000 * 1000, "mib": 1 << 20,
	"g": 1000 * 1000 * 1000, "gb": 1000 * 1000 * 1000, "gib": 1 << 30,
}

// ParseSize parses a byte count such as "512", "1KiB", "1.5MB" or "64k".
// Suffixes are case-insensitive: B; k, KB, M, MB, G, GB are powers of 1000;
// KiB, MiB, GiB are powers of 1024. The result must be a whole, non-negative
// number of bytes.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	mul, ok := sizeUnits[strings.ToLower(unit)]
	if num == "" || !ok {
		return 0, fmt.Errorf("invalid size %q: want a number of bytes with an optional unit (B, KB, KiB, MB, MiB, GB, GiB)", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: %w", s, errors.Unwrap(err))
	}
	v := f * float64(mul)
	if v != math.Trunc(v) {
		return 0, fmt.Errorf("invalid size %q: not a whole number of bytes", s)
	}
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return int64(v), nil
}

// FormatSize formats a byte count with the largest IEC unit (B, KiB, MiB,
// GiB) that divides it exactly, so that ParseSize(FormatSize(n)) == n.
func FormatSize(n int64) string {
	for _, u := range []struct {
		name string
		mul  int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.mul == 0 {
			return strconv.FormatInt(n/u.mul, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}
