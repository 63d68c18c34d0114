package sim

import (
	"hash/fnv"
	"strings"
)

// rng is splitmix64: tiny, fast, and good enough to make plausible data. Every
// entity gets its own stream keyed by (seed, kind, index), so generating one
// entity never depends on having generated another.
type rng struct{ s uint64 }

func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func newRNG(seed int64, kind uint64, idx uint64) *rng {
	return &rng{s: mix64(uint64(seed)*0x9e3779b97f4a7c15 ^ mix64(kind<<40^idx))}
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix64(r.s)
}

// intn returns a value in [0, n).
func (r *rng) intn(n int) int {
	if n <= 0 {
		return 0
	}
	return int(r.next() % uint64(n))
}

// between returns a value in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

func (r *rng) chance(pct int) bool { return r.intn(100) < pct }

func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }

// hashOf is a stable hash of a few values, for derived choices that need no stream.
func hashOf(seed int64, parts ...uint64) uint64 {
	h := mix64(uint64(seed) ^ 0x51ed27)
	for _, p := range parts {
		h = mix64(h ^ p)
	}
	return h
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// scramble32 is a bijection on uint32 (the "lowbias32" integer hash). Ids that
// look random but decode back to an index come from it.
func scramble32(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	x ^= x >> 16
	return x
}

func unscramble32(x uint32) uint32 {
	x ^= x >> 16
	x *= inv32(0x846ca68b)
	x ^= x>>15 ^ x>>30
	x *= inv32(0x7feb352d)
	x ^= x >> 16
	return x
}

// inv32 is the multiplicative inverse of an odd number modulo 2^32 (Newton).
func inv32(a uint32) uint32 {
	x := a
	for i := 0; i < 5; i++ {
		x *= 2 - a*x
	}
	return x
}

// perm is an affine permutation of [0, n): k -> (a*k + b) mod n. Lists such as
// "the likers of a post" are its first m values, so they never repeat, page
// without gaps, and membership is a constant-time inverse.
type perm struct{ a, b, ainv, n int64 }

func newPerm(h uint64, n int) perm {
	nn := int64(n)
	a := int64(h%uint64(nn-1)) + 1
	for gcd(a, nn) != 1 {
		a++
		if a >= nn {
			a = 1
		}
	}
	b := int64((h >> 32) % uint64(nn))
	return perm{a: a, b: b, ainv: modInverse(a, nn), n: nn}
}

func (p perm) at(k int) int { return int((p.a*int64(k) + p.b) % p.n) }

func (p perm) index(v int) int {
	d := (int64(v) - p.b) % p.n
	if d < 0 {
		d += p.n
	}
	return int(d * p.ainv % p.n)
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func modInverse(a, n int64) int64 {
	t, nt := int64(0), int64(1)
	r, nr := n, a
	for nr != 0 {
		q := r / nr
		t, nt = nt, t-q*nt
		r, nr = nr, r-q*nr
	}
	if t < 0 {
		t += n
	}
	return t
}

const b62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// base62 encodes v in exactly width digits (v must fit).
func base62(v uint64, width int) string {
	b := make([]byte, width)
	for i := width - 1; i >= 0; i-- {
		b[i] = b62[v%62]
		v /= 62
	}
	return string(b)
}

func unbase62(s string) (uint64, bool) {
	var v uint64
	for i := 0; i < len(s); i++ {
		d := strings.IndexByte(b62, s[i])
		if d < 0 {
			return 0, false
		}
		v = v*62 + uint64(d)
	}
	return v, true
}

func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		default:
			if r2, ok := deaccent[r]; ok {
				b.WriteRune(r2)
				dash = false
				continue
			}
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	return strings.TrimRight(b.String(), "-")
}

var deaccent = map[rune]rune{'é': 'e', 'è': 'e', 'ê': 'e', 'ë': 'e', 'à': 'a', 'â': 'a', 'ä': 'a', 'á': 'a', 'ã': 'a', 'î': 'i', 'ï': 'i', 'í': 'i', 'ô': 'o', 'ö': 'o', 'ó': 'o', 'ø': 'o', 'ù': 'u', 'û': 'u', 'ü': 'u', 'ú': 'u', 'ç': 'c', 'ñ': 'n', 'ß': 's', 'å': 'a'}
