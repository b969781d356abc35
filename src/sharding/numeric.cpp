// src/sharding/numeric.cpp — exact decimal text arithmetic for the merge (see numeric.hpp). The
// avg division reproduces PostgreSQL 15 numeric.c: select_div_scale picks the result scale from
// the base-10000 weights and first digits of both operands, div_var rounds half away from zero.
#include "numeric.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

namespace pgrouter::sharding::detail {

namespace {

constexpr int kMinSigDigits = 16;       // NUMERIC_MIN_SIG_DIGITS
constexpr int kDecDigits = 4;           // DEC_DIGITS: decimal digits per base-10000 digit
constexpr int kMaxDisplayScale = 1000;  // NUMERIC_MAX_DISPLAY_SCALE
constexpr int kMaxExponent = 200000;    // bounds the zeros an exponent can make us write

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

int special_rank(NumericSpecial s) noexcept {
    switch (s) {
        case NumericSpecial::NegInf:
            return 0;
        case NumericSpecial::None:
            return 1;
        case NumericSpecial::PosInf:
            return 2;
        case NumericSpecial::NaN:
            return 3;
    }
    return 3;
}

void strip_leading_zeros(std::string& s) {
    const auto nz = s.find_first_not_of('0');
    s.erase(0, nz == std::string::npos ? s.size() : nz);
}

int compare_magnitude(const std::string& a, const std::string& b) noexcept {
    if (a.size() != b.size()) {
        return a.size() < b.size() ? -1 : 1;
    }
    const int c = a.compare(b);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

std::string add_magnitude(const std::string& a, const std::string& b) {
    std::string out;
    out.reserve(std::max(a.size(), b.size()) + 1);
    int carry = 0;
    for (std::size_t i = 0; i < a.size() || i < b.size() || carry != 0; ++i) {
        int d = carry;
        d += i < a.size() ? a[a.size() - 1 - i] - '0' : 0;
        d += i < b.size() ? b[b.size() - 1 - i] - '0' : 0;
        out.push_back(static_cast<char>('0' + d % 10));
        carry = d / 10;
    }
    std::reverse(out.begin(), out.end());
    strip_leading_zeros(out);
    return out;
}

// a - b for |a| >= |b|.
std::string sub_magnitude(const std::string& a, const std::string& b) {
    std::string out;
    out.reserve(a.size());
    int borrow = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        int d = (a[a.size() - 1 - i] - '0') - borrow;
        d -= i < b.size() ? b[b.size() - 1 - i] - '0' : 0;
        borrow = d < 0 ? 1 : 0;
        out.push_back(static_cast<char>('0' + d + 10 * borrow));
    }
    std::reverse(out.begin(), out.end());
    strip_leading_zeros(out);
    return out;
}

// The normalized base-10000 weight and first digit of |digits| * 10^-scale, as select_div_scale
// finds them (0 and 0 for zero).
void weight_and_first_digit(const std::string& digits, int scale, int& weight, int& first) {
    weight = 0;
    first = 0;
    if (digits.empty()) {
        return;
    }
    const int len = static_cast<int>(digits.size());
    const int int_len = len - scale;
    if (int_len > 0) {
        weight = (int_len - 1) / kDecDigits;
        const int group = (int_len - 1) % kDecDigits + 1;
        first = std::stoi(digits.substr(0, static_cast<std::size_t>(group)));
        return;
    }
    // A pure fraction: the groups of four start at the decimal point.
    const std::string frac = std::string(static_cast<std::size_t>(-int_len), '0') + digits;
    const auto p = static_cast<int>(frac.find_first_not_of('0'));
    const int g = p / kDecDigits;
    weight = -(g + 1);
    std::string group = frac.substr(static_cast<std::size_t>(g * kDecDigits), kDecDigits);
    group.resize(kDecDigits, '0');
    first = std::stoi(group);
}

}  // namespace

std::optional<DecimalView> parse_decimal_view(std::string_view text) noexcept {
    DecimalView v;
    if (text == "NaN") {
        v.special = NumericSpecial::NaN;
        return v;
    }
    if (text == "Infinity") {
        v.special = NumericSpecial::PosInf;
        return v;
    }
    if (text == "-Infinity") {
        v.special = NumericSpecial::NegInf;
        return v;
    }
    std::size_t i = 0;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
        v.negative = text[i] == '-';
        ++i;
    }
    const std::size_t int_start = i;
    while (i < text.size() && is_digit(text[i])) {
        ++i;
    }
    std::string_view int_part = text.substr(int_start, i - int_start);
    std::string_view frac_part;
    if (i < text.size() && text[i] == '.') {
        const std::size_t frac_start = ++i;
        while (i < text.size() && is_digit(text[i])) {
            ++i;
        }
        frac_part = text.substr(frac_start, i - frac_start);
    }
    if (i != text.size() || (int_part.empty() && frac_part.empty())) {
        return std::nullopt;
    }
    const auto nz = int_part.find_first_not_of('0');
    v.int_digits = nz == std::string_view::npos ? std::string_view{} : int_part.substr(nz);
    const auto last = frac_part.find_last_not_of('0');
    v.frac_digits =
        last == std::string_view::npos ? std::string_view{} : frac_part.substr(0, last + 1);
    if (v.int_digits.empty() && v.frac_digits.empty()) {
        v.negative = false;
    }
    return v;
}

int compare_decimal(const DecimalView& a, const DecimalView& b) noexcept {
    const int ra = special_rank(a.special);
    const int rb = special_rank(b.special);
    if (ra != rb) {
        return ra < rb ? -1 : 1;
    }
    if (a.special != NumericSpecial::None) {
        return 0;
    }
    if (a.negative != b.negative) {
        return a.negative ? -1 : 1;
    }
    int mag = 0;
    if (a.int_digits.size() != b.int_digits.size()) {
        mag = a.int_digits.size() < b.int_digits.size() ? -1 : 1;
    } else if (const int c = a.int_digits.compare(b.int_digits); c != 0) {
        mag = c < 0 ? -1 : 1;
    } else if (const int f = a.frac_digits.compare(b.frac_digits); f != 0) {
        // Trailing zeros are stripped, so a longer fraction with an equal prefix is larger.
        mag = f < 0 ? -1 : 1;
    }
    return a.negative ? -mag : mag;
}

std::optional<Decimal> parse_decimal(std::string_view text) {
    Decimal d;
    std::string_view body = text;
    bool negative = false;
    if (!body.empty() && (body[0] == '-' || body[0] == '+')) {
        negative = body[0] == '-';
        body.remove_prefix(1);
    }
    if (iequals(body, "nan")) {
        if (text.size() != body.size()) {
            return std::nullopt;  // numeric_in has no signed NaN
        }
        d.special = NumericSpecial::NaN;
        return d;
    }
    if (iequals(body, "infinity") || iequals(body, "inf")) {
        d.special = negative ? NumericSpecial::NegInf : NumericSpecial::PosInf;
        return d;
    }
    std::size_t i = 0;
    std::size_t written = 0;
    int frac = 0;
    bool in_frac = false;
    for (; i < body.size(); ++i) {
        const char c = body[i];
        if (is_digit(c)) {
            d.digits.push_back(c);
            ++written;
            frac += in_frac ? 1 : 0;
        } else if (c == '.' && !in_frac) {
            in_frac = true;
        } else {
            break;
        }
    }
    if (written == 0) {
        return std::nullopt;
    }
    long exponent = 0;
    if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
        ++i;
        bool exp_negative = false;
        if (i < body.size() && (body[i] == '-' || body[i] == '+')) {
            exp_negative = body[i] == '-';
            ++i;
        }
        const std::size_t exp_start = i;
        for (; i < body.size() && is_digit(body[i]); ++i) {
            exponent = exponent * 10 + (body[i] - '0');
            if (exponent > kMaxExponent) {
                return std::nullopt;
            }
        }
        if (i == exp_start) {
            return std::nullopt;
        }
        exponent = exp_negative ? -exponent : exponent;
    }
    if (i != body.size()) {
        return std::nullopt;
    }
    // numeric_in: dscale = written fraction digits - exponent, never below 0.
    long scale = frac - exponent;
    if (scale < 0) {
        d.digits.append(static_cast<std::size_t>(-scale), '0');
        scale = 0;
    }
    d.scale = static_cast<int>(scale);
    strip_leading_zeros(d.digits);
    d.negative = negative && !d.digits.empty();
    return d;
}

Decimal decimal_from_int(std::int64_t v) {
    Decimal d;
    d.negative = v < 0;
    // Via unsigned so INT64_MIN negates without overflow.
    std::uint64_t mag = v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
    while (mag != 0) {
        d.digits.push_back(static_cast<char>('0' + mag % 10));
        mag /= 10;
    }
    std::reverse(d.digits.begin(), d.digits.end());
    return d;
}

std::string to_string(const Decimal& d) {
    switch (d.special) {
        case NumericSpecial::NaN:
            return "NaN";
        case NumericSpecial::PosInf:
            return "Infinity";
        case NumericSpecial::NegInf:
            return "-Infinity";
        case NumericSpecial::None:
            break;
    }
    std::string digits = d.digits;
    const auto scale = static_cast<std::size_t>(d.scale);
    if (digits.size() < scale + 1) {
        digits.insert(0, scale + 1 - digits.size(), '0');
    }
    std::string out = d.negative && !d.digits.empty() ? "-" : "";
    out += digits.substr(0, digits.size() - scale);
    if (scale > 0) {
        out += '.';
        out += digits.substr(digits.size() - scale);
    }
    return out;
}

Decimal add(const Decimal& a, const Decimal& b) {
    Decimal r;
    if (a.special == NumericSpecial::NaN || b.special == NumericSpecial::NaN) {
        r.special = NumericSpecial::NaN;
        return r;
    }
    if (a.special != NumericSpecial::None || b.special != NumericSpecial::None) {
        if (a.special != NumericSpecial::None && b.special != NumericSpecial::None &&
            a.special != b.special) {
            r.special = NumericSpecial::NaN;
        } else {
            r.special = a.special != NumericSpecial::None ? a.special : b.special;
        }
        return r;
    }
    r.scale = std::max(a.scale, b.scale);
    std::string da = a.digits;
    std::string db = b.digits;
    if (!da.empty()) {
        da.append(static_cast<std::size_t>(r.scale - a.scale), '0');
    }
    if (!db.empty()) {
        db.append(static_cast<std::size_t>(r.scale - b.scale), '0');
    }
    if (a.negative == b.negative) {
        r.digits = add_magnitude(da, db);
        r.negative = a.negative;
    } else if (compare_magnitude(da, db) >= 0) {
        r.digits = sub_magnitude(da, db);
        r.negative = a.negative;
    } else {
        r.digits = sub_magnitude(db, da);
        r.negative = b.negative;
    }
    r.negative = r.negative && !r.digits.empty();
    return r;
}

Decimal divide_for_avg(const Decimal& sum, std::int64_t count) {
    Decimal r;
    if (sum.special != NumericSpecial::None) {
        r.special = sum.special;  // NaN / n and ±Infinity / n (n > 0) keep their value
        return r;
    }
    const Decimal n = decimal_from_int(count);
    // select_div_scale (numeric.c): estimate the quotient's weight, then give it at least
    // NUMERIC_MIN_SIG_DIGITS significant digits and no less than either input's scale.
    int weight1 = 0;
    int first1 = 0;
    int weight2 = 0;
    int first2 = 0;
    weight_and_first_digit(sum.digits, sum.scale, weight1, first1);
    weight_and_first_digit(n.digits, 0, weight2, first2);
    int qweight = weight1 - weight2;
    if (first1 <= first2) {
        --qweight;
    }
    int rscale = kMinSigDigits - qweight * kDecDigits;
    rscale = std::max(rscale, sum.scale);
    rscale = std::max(rscale, 0);  // the count's scale and NUMERIC_MIN_DISPLAY_SCALE
    rscale = std::min(rscale, kMaxDisplayScale);

    // floor(|sum| * 10^(rscale + 1) / count): one guard digit decides the rounding (div_var with
    // round = true rounds half away from zero at rscale).
    std::string numerator = sum.digits;
    const int shift = rscale + 1 - sum.scale;
    if (shift >= 0) {
        if (!numerator.empty()) {
            numerator.append(static_cast<std::size_t>(shift), '0');
        }
    } else {
        const auto cut = static_cast<std::size_t>(-shift);
        numerator.resize(numerator.size() > cut ? numerator.size() - cut : 0);
    }
    const auto divisor = static_cast<unsigned __int128>(count);
    unsigned __int128 rem = 0;
    std::string q;
    q.reserve(numerator.size());
    for (const char c : numerator) {
        rem = rem * 10 + static_cast<unsigned>(c - '0');
        q.push_back(static_cast<char>('0' + static_cast<int>(rem / divisor)));
        rem %= divisor;
    }
    bool round_up = false;
    if (!q.empty()) {
        round_up = q.back() >= '5';
        q.pop_back();
    }
    if (round_up) {
        std::size_t i = q.size();
        while (i > 0 && q[i - 1] == '9') {
            q[--i] = '0';
        }
        if (i == 0) {
            q.insert(q.begin(), '1');
        } else {
            ++q[i - 1];
        }
    }
    strip_leading_zeros(q);
    r.digits = std::move(q);
    r.scale = rscale;
    r.negative = sum.negative && !r.digits.empty();
    return r;
}

std::optional<std::int64_t> parse_int64(std::string_view text) noexcept {
    std::size_t i = 0;
    bool negative = false;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
        negative = text[i] == '-';
        ++i;
    }
    if (i == text.size()) {
        return std::nullopt;
    }
    // Accumulate negatively so INT64_MIN is reachable.
    std::int64_t v = 0;
    constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
    for (; i < text.size(); ++i) {
        if (!is_digit(text[i])) {
            return std::nullopt;
        }
        const int d = text[i] - '0';
        if (v < (kMin + d) / 10) {
            return std::nullopt;
        }
        v = v * 10 - d;
    }
    if (!negative) {
        if (v == kMin) {
            return std::nullopt;
        }
        v = -v;
    }
    return v;
}

}  // namespace pgrouter::sharding::detail
