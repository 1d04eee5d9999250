/*
 * The exact shortest digits (encode_float_digits) against the printf and
 * strtod search (encode_float_digits_slow), which test_encode.c holds to
 * Go's output: the two must agree digit for digit and exponent for
 * exponent on every value, and the digits must read back as the value.
 * The values: random bit patterns over the whole range the exact way
 * covers and beyond it, decimals of 1 to 17 significant digits (what
 * producers send), powers of two and their neighbours (the lopsided
 * rounding intervals), values next to powers of ten, ties.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode_float.h"

static uint64_t	 seed = 0x243f6a8885a308d3ULL;

static uint64_t
rnd(void)
{
	seed ^= seed >> 12;
	seed ^= seed << 25;
	seed ^= seed >> 27;
	return seed * 2685821657736338717ULL;
}

static double
from_bits(uint64_t b)
{
	double	 d;

	memcpy(&d, &b, sizeof(d));
	return d;
}

static unsigned long	 checked;

/* libm is not linked: the few helpers needed, on the bits */
static int
ndigits(uint64_t m)
{
	int	 n = 1;

	while (m >= 10) {
		m /= 10;
		n++;
	}
	return n;
}

/* The next double away from zero (up) or towards it. */
static double
next(double v, int up)
{
	uint64_t	 b;

	memcpy(&b, &v, sizeof(b));
	b = up ? b + 1 : b - 1;
	return from_bits(b);
}

static double
pow10_of(int k)
{
	char	 txt[16];

	snprintf(txt, sizeof(txt), "1e%d", k);
	return strtod(txt, NULL);
}

/* 2^i for -1074 <= i <= 1023, from its bits */
static double
pow2_of(int i)
{
	if (i < -1022)
		return from_bits(1ULL << (i + 1074));
	return from_bits((uint64_t)(i + 1023) << 52);
}

static void
same(double v)
{
	char	 a[24], b[24], txt[64];
	int	 na, nb, ea = 0, eb = 0;

	if (v == 0 || v != v || v - v != 0)	/* zero, NaN, infinities */
		return;
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	na = encode_float_digits(v, a, &ea);
	nb = encode_float_digits_slow(v, b, &eb);
	cr_assert_gt(nb, 0, "slow path failed on %a", v);
	cr_assert(na == nb && ea == eb && memcmp(a, b, (size_t)na) == 0,
	    "%.17g (%a): exact %.*s e%d, slow %.*s e%d", v, v, na, a, ea, nb,
	    b, eb);
	/* and it reads back */
	snprintf(txt, sizeof(txt), "%s0.%.*se%d", v < 0 ? "-" : "", na, a,
	    ea + 1);
	cr_assert_eq(strtod(txt, NULL), v, "%s does not read back as %a",
	    txt, v);
	checked++;
}

Test(encode_float, known_values)
{
	char	 d[24];
	int	 n, e;

	n = encode_float_digits(523.17, d, &e);
	cr_assert_eq(n, 5);
	cr_assert_eq(memcmp(d, "52317", 5), 0);
	cr_assert_eq(e, 2);
	n = encode_float_digits(0.1 + 0.2, d, &e);
	cr_assert_eq(n, 17);
	cr_assert_eq(memcmp(d, "30000000000000004", 17), 0);
	cr_assert_eq(e, -1);
	n = encode_float_digits(1e20, d, &e);
	cr_assert_eq(n, 1);
	cr_assert_eq(e, 20);
	n = encode_float_digits(-15885.0, d, &e);
	cr_assert_eq(n, 5);
	cr_assert_eq(memcmp(d, "15885", 5), 0);
	cr_assert_eq(e, 4);
	same(731.2263189023394);
	same(pow2_of(-44));
	same(pow2_of(-24));
	same(9007199254740993.0);
	same(123456789012345680000.0);
	same(5e-324);
	same(1.7976931348623157e308);
}

Test(encode_float, random_bit_patterns)
{
	int	 i;

	/* every exponent, the exact way's range and well beyond it */
	for (i = 0; i < 150000; i++)
		same(from_bits(rnd()));
	/* the range metrics live in: 1e-7 .. 1e22 */
	for (i = 0; i < 150000; i++)
		same(from_bits(((uint64_t)(1000 + rnd() % 100) << 52) |
		    (rnd() >> 12)));
}

Test(encode_float, decimals_of_every_length)
{
	char	 txt[64];
	int	 i, digits, exp;
	uint64_t m;

	for (i = 0; i < 150000; i++) {
		digits = 1 + (int)(rnd() % 17);
		m = rnd() % 100000000000000000ULL;
		while (m >= 10 && ndigits(m) > digits)
			m /= 10;
		exp = (int)(rnd() % 30) - 12;
		snprintf(txt, sizeof(txt), "%llue%d", (unsigned long long)m,
		    exp);
		same(strtod(txt, NULL));
		same(-strtod(txt, NULL));
	}
	/* the 2-decimal gauges of bench/post.py */
	for (i = 0; i < 100000; i++)
		same((double)(rnd() % 100000) / 100.0);
}

Test(encode_float, powers_of_two_and_ten_and_neighbours)
{
	double	 v;
	int	 i, k;

	for (i = -1074; i <= 1023; i++) {
		v = pow2_of(i);
		same(v);
		same(next(v, 0));
		if (i < 1023)
			same(next(v, 1));
	}
	for (k = -30; k <= 30; k++) {
		v = pow10_of(k);
		same(v);
		same(next(v, 0));
		same(next(v, 1));
		same(9.5 * v);
		same(5 * v);
	}
	/* ties of the last kept digit: x.5 at many scales */
	for (i = 0; i < 100000; i++)
		same((double)(rnd() % 1000000) + 0.5);
	/* integers about 2^53 and beyond, where the ulp is > 1 */
	for (i = 0; i < 100000; i++)
		same((double)(rnd() >> (rnd() % 20)));
	cr_assert_gt(checked, 0);
}
