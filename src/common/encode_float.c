/*
 * Shortest round-trip digits of a double (encode_float.h).
 *
 * The exact way.  v = f * 2^e (f the 53-bit significand).  The decimals
 * that read back as v are those within its rounding interval: half an
 * ulp either side (a quarter below when f is a power of two and there is
 * a smaller exponent), the ends included when f is even (strtod rounds a
 * tie to the even significand).  Scaled by 2^(2-e), the interval is
 * [4f - 2, 4f + 2] (or [4f - 1, 4f + 2]) around 4f: integers.
 *
 * A decimal with k places (k < 0: a multiple of 10^-k) is m * 10^-k; it
 * lies in the interval when L <= m * 10^-k * 2^(2-e) <= U, that is when
 * m is an integer in [L, U] * 2^(e-2) * 10^k.  The first k, counting up,
 * for which that range holds an integer gives the fewest significant
 * digits (the candidates of fewer places were all tried first, and all
 * decimals near v share the position of their first digit, so fewer
 * places is fewer digits); the integer nearest V * 2^(e-2) * 10^k, tie
 * to even, clamped into the range, is the one Go prints.  The bounds
 * and the nearest integer are computed exactly with 128-bit integers:
 * the factor 2^(e-2) * 10^k is a power of two times a power of five, so
 * they are (x * 5^k << s) / (5^-k << t), a shift whenever k >= 0.
 *
 * Most k cannot work and are skipped without that: v * 10^k computed in
 * double precision is within half an ulp of the exact product, so when
 * its distance to the nearest integer exceeds the interval's half-width
 * plus that error, no integer is in the range.  A value with 2 decimals
 * (523.17) takes a few of these tests and one exact check; one with 17
 * digits about twenty tests and two or three checks.
 *
 * What this does not cover goes the slow way: subnormals, |v| below
 * about 1e-6 or above about 1e21 (k outside [-22, 22], where 10^k is no
 * longer an exact double), and any product that would not fit 128 bits.
 * The layout of encode_json_float() prints those in exponent form anyway
 * and they are rare in metrics.
 */
#include "encode_float.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;

#define FAST_KMAX	22	/* 10^22 is the largest exact power of ten */

static const double pow10d[FAST_KMAX + 1] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

static const uint64_t pow5[FAST_KMAX + 1] = {
	1ULL, 5ULL, 25ULL, 125ULL, 625ULL, 3125ULL, 15625ULL, 78125ULL,
	390625ULL, 1953125ULL, 9765625ULL, 48828125ULL, 244140625ULL,
	1220703125ULL, 6103515625ULL, 30517578125ULL, 152587890625ULL,
	762939453125ULL, 3814697265625ULL, 19073486328125ULL,
	95367431640625ULL, 476837158203125ULL, 2384185791015625ULL
};

/* The scaling x -> x * 5^up << shl, then divided by den5 << shr. */
struct scale {
	uint64_t	 up;		/* 5^k, k > 0 */
	uint64_t	 den5;		/* 5^-k, k < 0 */
	int		 shl;
	int		 shr;
	u128		 den;
};

static int
bits128(u128 x)
{
	uint64_t	 hi = (uint64_t)(x >> 64);

	if (hi != 0)
		return 128 - __builtin_clzll(hi);
	return x == 0 ? 0 : 64 - __builtin_clzll((uint64_t)x);
}

/* x * 5^up << shl, exactly; -1 when it would not fit. */
static int
scale_up(const struct scale *s, uint64_t x, u128 *out)
{
	u128	 n = (u128)x * s->up;

	if (s->shl > 0 && bits128(n) + s->shl > 127)
		return -1;
	*out = n << s->shl;
	return 0;
}

/* Quotient and remainder of n by the scale's denominator. */
static void
divide(const struct scale *s, u128 n, u128 *q, u128 *r)
{
	if (s->den5 == 1) {
		if (s->shr == 0) {
			*q = n;
			*r = 0;
		} else {
			*q = n >> s->shr;
			*r = n & (((u128)1 << s->shr) - 1);
		}
		return;
	}
	*q = n / s->den;
	*r = n % s->den;
}

/*
 * Is there a k-place decimal in the interval?  1 with its digits, 0 when
 * not, -1 when the numbers do not fit (then the caller goes the slow
 * way: skipping this k could lose the shortest).
 */
static int
exact_at(uint64_t lo4, uint64_t mid4, uint64_t hi4, int inclusive, int e,
    int k, char *dig, int *nd, int *exp10)
{
	struct scale	 s;
	u128		 nl, nv, nu, q, r, lo, hi, m;
	char		 tmp[40];
	int		 p2, n, i;
	uint64_t	 m64;

	memset(&s, 0, sizeof(s));
	s.up = k > 0 ? pow5[k] : 1;
	s.den5 = k < 0 ? pow5[-k] : 1;
	p2 = e - 2 + k;
	s.shl = p2 > 0 ? p2 : 0;
	s.shr = p2 < 0 ? -p2 : 0;
	if (s.shr > 127 || (s.den5 != 1 && bits128(s.den5) + s.shr > 127))
		return -1;
	s.den = (u128)s.den5 << s.shr;
	if (scale_up(&s, lo4, &nl) == -1 || scale_up(&s, mid4, &nv) == -1 ||
	    scale_up(&s, hi4, &nu) == -1)
		return -1;

	/* the integers in [nl, nu] / den, ends as the tie rule says */
	divide(&s, nl, &q, &r);
	lo = q + (r != 0 || !inclusive);
	divide(&s, nu, &q, &r);
	if (r == 0 && !inclusive) {
		if (q == 0)
			return 0;
		q--;
	}
	hi = q;
	if (lo > hi)
		return 0;
	/* the nearest to v, a tie to even, within them */
	divide(&s, nv, &m, &r);
	q = s.den - r;			/* r < den: the distance up */
	if (r > q || (r == q && (m & 1)))
		m++;
	if (m < lo)
		m = lo;
	if (m > hi)
		m = hi;
	if ((m >> 64) != 0)
		return -1;
	m64 = (uint64_t)m;
	n = 0;
	do {
		tmp[n++] = (char)('0' + m64 % 10);
		m64 /= 10;
	} while (m64 != 0);
	*exp10 = n - 1 - k;
	/* trailing zeros only where k was too small to be tried */
	i = 0;
	while (i < n - 1 && tmp[i] == '0')
		i++;
	*nd = n - i;
	for (n = 0; n < *nd; n++)
		dig[n] = tmp[*nd + i - 1 - n];
	return 1;
}

int
encode_float_digits(double v, char *dig, int *exp10)
{
	uint64_t	 bits, f, lo4, mid4, hi4, hbits;
	double		 a, t, n, h, halfulp;
	int		 be, e, inclusive, k, kmin, d0, x2, nd, r;

	memcpy(&bits, &v, sizeof(bits));
	be = (int)((bits >> 52) & 0x7ff);
	f = bits & ((1ULL << 52) - 1);
	if (be == 0 || be == 0x7ff)
		return encode_float_digits_slow(v, dig, exp10);
	e = be - 1075;			/* |v| = f * 2^e */
	mid4 = (f | (1ULL << 52)) << 2;
	hi4 = mid4 + 2;
	lo4 = mid4 - (f == 0 && be > 1 ? 1 : 2);
	inclusive = (mid4 & 4) == 0;	/* f even */
	a = v < 0 ? -v : v;
	/* half an ulp, 2^(e-1), straight from its bits (a normal double) */
	if (e - 1 + 1023 <= 0)
		return encode_float_digits_slow(v, dig, exp10);
	hbits = (uint64_t)(e - 1 + 1023) << 52;
	memcpy(&halfulp, &hbits, sizeof(halfulp));

	/* floor(log10 |v|) is d0 or d0 + 1 (1233 / 4096 ~ log10 2) */
	x2 = be - 1023;
	d0 = (x2 * 1233) >> 12;
	kmin = -d0 - 3;
	if (kmin < -FAST_KMAX)
		return encode_float_digits_slow(v, dig, exp10);
	for (k = kmin; k <= FAST_KMAX; k++) {
		if (k >= 0) {
			t = a * pow10d[k];
			h = halfulp * pow10d[k];
		} else {
			t = a / pow10d[-k];
			h = halfulp / pow10d[-k] * (1 + 0x1p-40);
		}
		if (t < 0x1p52) {
			/* the nearest integer, exactly (round to nearest) */
			n = (t + 0x1p52) - 0x1p52;
			if ((t > n ? t - n : n - t) > h + t * 0x1p-51)
				continue;
		}
		r = exact_at(lo4, mid4, hi4, inclusive, e, k, dig, &nd,
		    exp10);
		if (r == 1)
			return nd;
		if (r == -1)
			break;
	}
	return encode_float_digits_slow(v, dig, exp10);
}

/*
 * Is there a `prec`-digit decimal that reads back as v?  The nearest one
 * is in tmp; next to a power of two the shortest may be its neighbour one
 * unit further from zero (the wider side of v's rounding interval), tried
 * as well.  On success tmp holds the one that reads back.
 */
static int
digits_roundtrip(double v, int prec, char *tmp, size_t len)
{
	char	 alt[48];
	char	*e;
	int	 n, i;

	n = snprintf(tmp, len, "%.*e", prec - 1, v);
	if (n < 0 || (size_t)n >= len || (size_t)n >= sizeof(alt))
		return -1;
	if (strtod(tmp, NULL) == v)
		return 1;
	if ((e = strrchr(tmp, 'e')) == NULL)
		return -1;
	memcpy(alt, tmp, (size_t)n + 1);
	for (i = (int)(e - tmp) - 1; i >= 0; i--) {
		if (alt[i] < '0' || alt[i] > '9')
			continue;
		if (alt[i] != '9') {
			alt[i]++;
			break;
		}
		alt[i] = '0';
	}
	/* A carry out of the first digit changes the length: skip. */
	if (i >= 0 && strtod(alt, NULL) == v) {
		memcpy(tmp, alt, (size_t)n + 1);
		return 1;
	}
	return 0;
}

/*
 * "%.*e" with increasing precision gives, at each length, the correctly
 * rounded (so nearest) decimal; the first that strtod() maps back to v is
 * what Go's strconv.FormatFloat(v, fmt, -1, 64) picks: the shortest that
 * round-trips, nearest to v among those.  %e and strtod() both follow
 * LC_NUMERIC, so the round trip holds in any locale; only the digits and
 * the exponent are taken from the text, never the radix character.
 *
 * Close to a power of two the interval of decimals that read back as v
 * is lopsided (the gap below is half the gap above), so the nearest
 * decimal of some length may miss while the next one up still hits;
 * Go's algorithm takes that one, so it is tried too.
 */
int
encode_float_digits_slow(double v, char *dig, int *exp10)
{
	char	 tmp[48];
	char	*e, *end;
	int	 prec, nd, i, r, from, to;
	long	 x;

	/*
	 * If any decimal of up to 15 digits reads back as v, one of 15
	 * digits does (the check above covers both sides): test 15 first,
	 * then search below it or, for full-precision values, only 16 and
	 * 17.  Three tries instead of seventeen for the latter.
	 */
	if ((r = digits_roundtrip(v, 15, tmp, sizeof(tmp))) == -1)
		return 0;
	from = r == 1 ? 1 : 16;
	to = r == 1 ? 15 : 17;
	for (prec = from; prec <= to; prec++) {
		if ((r = digits_roundtrip(v, prec, tmp, sizeof(tmp))) == -1)
			return 0;
		if (r == 1)
			break;
	}
	if (prec > to)
		return 0;
	if ((e = strrchr(tmp, 'e')) == NULL)
		return 0;
	nd = 0;
	for (i = 0; tmp + i < e; i++)
		if (tmp[i] >= '0' && tmp[i] <= '9')
			dig[nd++] = tmp[i];
	x = strtol(e + 1, &end, 10);
	if (nd == 0 || *end != '\0')
		return 0;
	while (nd > 1 && dig[nd - 1] == '0')
		nd--;
	*exp10 = (int)x;
	return nd;
}
