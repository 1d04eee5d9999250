/*
 * The shortest decimal digits of a double that read back as it: what Go's
 * strconv.FormatFloat(v, fmt, -1, 64) picks (the fewest significant
 * digits that round-trip; among those, the nearest to v, a tie to the
 * even digit).  encode_json_float() (encode.h) lays them out as Go's
 * encoding/json does.
 *
 * Two ways to the same digits:
 *   encode_float_digits       exact integer arithmetic (below), about
 *                             0.1 us a value; the /post path;
 *   encode_float_digits_slow  printf("%.*e") and strtod() until one
 *                             reads back, 1-5 us a value; the fallback
 *                             for what the first does not cover, and
 *                             the oracle its tests compare with.
 */
#ifndef AGENT_ENCODE_FLOAT_H
#define AGENT_ENCODE_FLOAT_H

/*
 * v finite and non-zero.  The digits, without sign or point, into dig
 * (at least 20 bytes; no trailing zeros), their count returned; the
 * decimal exponent of the first digit in *exp10 (|v| = 0.d1d2... *
 * 10^(*exp10 + 1)).  0 on failure.
 */
int	 encode_float_digits(double v, char *dig, int *exp10);
int	 encode_float_digits_slow(double v, char *dig, int *exp10);

#endif
