//===- Lexer.cpp - Tokens and literals of the textual IR ------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// The tokenizer of the textual IR and the conversions between literal
// spellings and element bits. Numbers are validated here, once, so the parser
// can rely on a Number token being well-formed; whether it fits the element
// type it is used for is decided by parseIntegerBits / parseFloatBits.
//
//===----------------------------------------------------------------------===//

#include "Lexer.h"

#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

namespace sparseloom {
namespace text {

namespace {

bool isIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isIdentChar(char c) { return isIdentStart(c) || isDigit(c) || c == '.'; }
bool isHexDigit(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
int hexValue(char c) {
  if (isDigit(c))
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return c - 'A' + 10;
}

std::string describeChar(char c) {
  if (c >= 0x20 && c < 0x7f)
    return std::string("'") + c + "'";
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", unsigned(uint8_t(c)));
  return buf;
}

} // namespace

//===----------------------------------------------------------------------===//
// Lexer
//===----------------------------------------------------------------------===//

void Lexer::skipSpaceAndComments() {
  while (pos_ < buffer_.size()) {
    char c = buffer_[pos_];
    if (c == '\n') {
      ++pos_;
      ++line_;
      lineStart_ = pos_;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      ++pos_;
    } else if (c == '/' && pos_ + 1 < buffer_.size() &&
               buffer_[pos_ + 1] == '/') {
      // Comments carry lit RUN/CHECK lines; they end at the newline, which
      // the loop then counts.
      while (pos_ < buffer_.size() && buffer_[pos_] != '\n')
        ++pos_;
    } else {
      return;
    }
  }
}

Token Lexer::make(Token::Kind kind, size_t start, unsigned col) {
  Token t;
  t.kind = kind;
  t.spelling = buffer_.substr(start, pos_ - start);
  t.line = line_;
  t.col = col;
  return t;
}

Token Lexer::error(size_t at, const std::string &message) {
  Token t;
  t.kind = Token::Error;
  t.spelling = buffer_.substr(at, 1);
  t.value = message;
  t.line = line_;
  t.col = colOf(at);
  // Stop here: after an error the parser reports it and never asks again.
  pos_ = buffer_.size();
  return t;
}

Token Lexer::lex() {
  skipSpaceAndComments();
  size_t start = pos_;
  unsigned col = colOf(start);
  if (pos_ >= buffer_.size())
    return make(Token::Eof, start, col);

  char c = buffer_[pos_];
  auto single = [&](Token::Kind kind) {
    ++pos_;
    return make(kind, start, col);
  };
  switch (c) {
  case '{':
    return single(Token::LBrace);
  case '}':
    return single(Token::RBrace);
  case '(':
    return single(Token::LParen);
  case ')':
    return single(Token::RParen);
  case '[':
    return single(Token::LSquare);
  case ']':
    return single(Token::RSquare);
  case '<':
    return single(Token::Less);
  case '>':
    return single(Token::Greater);
  case ',':
    return single(Token::Comma);
  case '=':
    return single(Token::Equal);
  case '*':
    return single(Token::Star);
  case '?':
    return single(Token::Question);
  case ':':
    if (pos_ + 1 < buffer_.size() && buffer_[pos_ + 1] == ':') {
      pos_ += 2;
      return make(Token::ColonColon, start, col);
    }
    return single(Token::Colon);
  case '"':
    return lexQuoted(Token::String, start, col);
  case '%': {
    ++pos_;
    if (pos_ < buffer_.size() && buffer_[pos_] == '"')
      return lexQuoted(Token::ValueName, start, col);
    size_t nameStart = pos_;
    while (pos_ < buffer_.size() && isBareValueChar(buffer_[pos_]) &&
           !(buffer_[pos_] == '/' && pos_ + 1 < buffer_.size() &&
             buffer_[pos_ + 1] == '/'))
      ++pos_;
    if (pos_ == nameStart)
      return error(start, "expected value name after '%'");
    Token t = make(Token::ValueName, start, col);
    t.value = buffer_.substr(nameStart, pos_ - nameStart).str();
    return t;
  }
  case '-':
    if (pos_ + 1 < buffer_.size() && buffer_[pos_ + 1] == '>') {
      pos_ += 2;
      return make(Token::Arrow, start, col);
    }
    return lexNumber(start, col);
  default:
    break;
  }
  if (isDigit(c))
    return lexNumber(start, col);
  if (isIdentStart(c)) {
    while (pos_ < buffer_.size() && isIdentChar(buffer_[pos_]))
      ++pos_;
    return make(Token::Identifier, start, col);
  }
  return error(start, "unexpected character " + describeChar(c));
}

Token Lexer::lexQuoted(Token::Kind kind, size_t start, unsigned col) {
  // pos_ is at the opening quote.
  size_t quote = pos_;
  ++pos_;
  std::string decoded;
  while (true) {
    if (pos_ >= buffer_.size() || buffer_[pos_] == '\n')
      return error(quote, "unterminated string");
    char c = buffer_[pos_];
    if (c == '"') {
      ++pos_;
      break;
    }
    if (c != '\\') {
      decoded += c;
      ++pos_;
      continue;
    }
    size_t escape = pos_;
    char e = pos_ + 1 < buffer_.size() ? buffer_[pos_ + 1] : '\0';
    if (e == '"' || e == '\\') {
      decoded += e;
      pos_ += 2;
    } else if (e == 'n') {
      decoded += '\n';
      pos_ += 2;
    } else if (e == 't') {
      decoded += '\t';
      pos_ += 2;
    } else if (isHexDigit(e) && pos_ + 2 < buffer_.size() &&
               isHexDigit(buffer_[pos_ + 2])) {
      decoded += char(hexValue(e) * 16 + hexValue(buffer_[pos_ + 2]));
      pos_ += 3;
    } else {
      return error(escape, "invalid escape sequence in string (use \\\\, "
                           "\\\", \\n, \\t or two hex digits)");
    }
  }
  Token t = make(kind, start, col);
  t.value = std::move(decoded);
  return t;
}

Token Lexer::lexNumber(size_t start, unsigned col) {
  size_t p = start;
  if (buffer_[p] == '-')
    ++p;
  if (p < buffer_.size() && isIdentStart(buffer_[p])) {
    // Only "-inf" and "-nan" start with a sign and a letter.
    while (p < buffer_.size() && isIdentChar(buffer_[p]))
      ++p;
    pos_ = p;
    llvm::StringRef word = buffer_.substr(start, p - start);
    if (word == "-inf" || word == "-nan")
      return make(Token::Number, start, col);
    pos_ = start;
    return error(start, "malformed number '" + word.str() + "'");
  }
  // Take the longest run that could belong to a number, then validate it as
  // a whole: "1.2.3" or "12ab" is one malformed number, not two tokens.
  bool hex = buffer_.substr(p).startswith("0x");
  while (p < buffer_.size()) {
    char c = buffer_[p];
    if (isIdentChar(c)) {
      ++p;
    } else if ((c == '+' || c == '-') && !hex &&
               (buffer_[p - 1] == 'e' || buffer_[p - 1] == 'E')) {
      ++p;
    } else {
      break;
    }
  }
  llvm::StringRef spelling = buffer_.substr(start, p - start);
  if (!isIntegerSpelling(spelling) && !isHexSpelling(spelling) &&
      !isFloatSpelling(spelling))
    return error(start, "malformed number '" + spelling.str() + "'");
  pos_ = p;
  return make(Token::Number, start, col);
}

//===----------------------------------------------------------------------===//
// Spelling rules
//===----------------------------------------------------------------------===//

bool isIdentifier(llvm::StringRef s) {
  if (s.empty() || !isIdentStart(s.front()))
    return false;
  for (char c : s)
    if (!isIdentChar(c))
      return false;
  return true;
}

bool isBareValueChar(char c) {
  return isIdentStart(c) || isDigit(c) || c == '.' || c == '$' || c == '/' ||
         c == '-';
}

bool isBareValueName(llvm::StringRef s) {
  if (s.empty() || s.contains("//"))
    return false;
  for (char c : s)
    if (!isBareValueChar(c))
      return false;
  return true;
}

void appendQuoted(std::string &out, llvm::StringRef s) {
  static const char *digits = "0123456789ABCDEF";
  out += '"';
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u >= 0x7f) {
      // Every other byte outside printable ASCII is escaped, so the text is
      // pure ASCII whatever the names contain (FileCheck, diffs, terminals).
      out += '\\';
      out += digits[u >> 4];
      out += digits[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
}

bool isIntegerSpelling(llvm::StringRef s) {
  if (s.startswith("-"))
    s = s.drop_front();
  if (s.empty())
    return false;
  for (char c : s)
    if (!isDigit(c))
      return false;
  return true;
}

bool isHexSpelling(llvm::StringRef s) {
  if (!s.startswith("0x") || s.size() == 2)
    return false;
  for (char c : s.drop_front(2))
    if (!isHexDigit(c))
      return false;
  return true;
}

bool isFloatSpelling(llvm::StringRef s) {
  if (s == "inf" || s == "-inf" || s == "nan" || s == "-nan")
    return true;
  // -?[0-9]+ ( '.' [0-9]+ )? ( [eE] [+-]? [0-9]+ )?, with a fraction or an
  // exponent (otherwise it is an integer).
  size_t i = 0, n = s.size();
  auto digits = [&]() {
    size_t from = i;
    while (i < n && isDigit(s[i]))
      ++i;
    return i > from;
  };
  if (i < n && s[i] == '-')
    ++i;
  if (!digits())
    return false;
  bool fraction = false, exponent = false;
  if (i < n && s[i] == '.') {
    ++i;
    if (!digits())
      return false;
    fraction = true;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-'))
      ++i;
    if (!digits())
      return false;
    exponent = true;
  }
  return i == n && (fraction || exponent);
}

//===----------------------------------------------------------------------===//
// Integer literals
//===----------------------------------------------------------------------===//

std::string parseIntegerBits(llvm::StringRef s, DType dtype, uint64_t &bits) {
  bool negative = s.startswith("-");
  llvm::StringRef digits = negative ? s.drop_front() : s;
  uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(digits.begin(), digits.end(), magnitude, 10);
  if (ec != std::errc() || end != digits.end())
    return "integer literal '" + s.str() + "' out of range for " +
           dtypeName(dtype).str();

  bool isSigned = dtype == DType::I8 || dtype == DType::I16 ||
                  dtype == DType::I32 || dtype == DType::I64;
  unsigned width = unsigned(dtypeSize(dtype)) * 8;
  uint64_t maxPositive;
  if (dtype == DType::Bool)
    maxPositive = 1;
  else if (isSigned)
    maxPositive = (uint64_t(1) << (width - 1)) - 1;
  else
    maxPositive = width == 64 ? std::numeric_limits<uint64_t>::max()
                              : (uint64_t(1) << width) - 1;
  uint64_t maxNegative = isSigned ? maxPositive + 1 : 0;
  if (negative ? magnitude > maxNegative : magnitude > maxPositive)
    return "integer literal '" + s.str() + "' out of range for " +
           dtypeName(dtype).str();
  uint64_t value = negative ? uint64_t(0) - magnitude : magnitude;
  uint64_t mask = width == 64 ? ~uint64_t(0) : (uint64_t(1) << width) - 1;
  bits = value & mask;
  return "";
}

//===----------------------------------------------------------------------===//
// Float literals
//===----------------------------------------------------------------------===//

namespace {

struct FloatLayout {
  int expBits;
  int mantBits;
};

FloatLayout layoutOf(DType dtype) {
  switch (dtype) {
  case DType::F16:
    return {5, 10};
  case DType::BF16:
    return {8, 7};
  case DType::F32:
    return {8, 23};
  case DType::F64:
    return {11, 52};
  default:
    break;
  }
  assert(false && "not a float type");
  return {8, 23};
}

uint64_t expMaskOf(FloatLayout l) {
  return ((uint64_t(1) << l.expBits) - 1) << l.mantBits;
}
uint64_t signBitOf(FloatLayout l) {
  return uint64_t(1) << (l.expBits + l.mantBits);
}
uint64_t canonicalNaN(FloatLayout l) {
  return expMaskOf(l) | (uint64_t(1) << (l.mantBits - 1));
}

// Rounds a finite double to the nearest value of a narrow binary format (f16,
// bf16) with ties to even, directly from the double so there is one rounding.
uint64_t encodeNarrow(double d, FloatLayout l) {
  uint64_t sign = std::signbit(d) ? signBitOf(l) : 0;
  if (std::isinf(d))
    return sign | expMaskOf(l);
  double a = std::fabs(d);
  if (a == 0)
    return sign;
  int bias = (1 << (l.expBits - 1)) - 1;
  int minExp = 1 - bias;
  int ex = 0;
  std::frexp(a, &ex);
  int e = ex - 1; // a in [2^e, 2^(e+1))
  if (e < minExp) {
    // Subnormal: count units of the smallest subnormal. A result of
    // 2^mantBits is the smallest normal, whose encoding is the same integer.
    double q = std::rint(std::ldexp(a, l.mantBits - minExp));
    return sign | uint64_t(q);
  }
  double q =
      std::rint(std::ldexp(a, l.mantBits - e) - std::ldexp(1.0, l.mantBits));
  uint64_t mant = uint64_t(q);
  if (mant == (uint64_t(1) << l.mantBits)) {
    mant = 0;
    ++e;
  }
  if (e > bias)
    return sign | expMaskOf(l);
  return sign | (uint64_t(e + bias) << l.mantBits) | mant;
}

double decodeNarrow(uint64_t bits, FloatLayout l) {
  int bias = (1 << (l.expBits - 1)) - 1;
  uint64_t mantMask = (uint64_t(1) << l.mantBits) - 1;
  int e = int((bits & expMaskOf(l)) >> l.mantBits);
  uint64_t mant = bits & mantMask;
  double v;
  if (e == 0)
    v = std::ldexp(double(mant), 1 - bias - l.mantBits);
  else if (e == (1 << l.expBits) - 1)
    v = mant ? std::numeric_limits<double>::quiet_NaN()
             : std::numeric_limits<double>::infinity();
  else
    v = std::ldexp(double(mant | (uint64_t(1) << l.mantBits)),
                   e - bias - l.mantBits);
  return (bits & signBitOf(l)) ? -v : v;
}

// Given "-d.ddde+XX", returns the shorter of that and the same digits in
// fixed notation, preferring fixed on a tie: the rule to_chars applies to f32
// and f64, so every float type reads alike ("65500.0", "6e-08").
std::string shorterNotation(llvm::StringRef sci) {
  std::string sign = sci.startswith("-") ? "-" : "";
  if (!sign.empty())
    sci = sci.drop_front();
  size_t ePos = sci.find('e');
  llvm::StringRef mantissa = sci.substr(0, ePos);
  int exponent = 0;
  llvm::StringRef expText = sci.substr(ePos + 1);
  bool negExp = expText.consume_front("-");
  expText.consume_front("+");
  expText.getAsInteger(10, exponent);
  if (negExp)
    exponent = -exponent;
  std::string digits;
  for (char c : mantissa)
    if (c != '.')
      digits += c;
  while (digits.size() > 1 && digits.back() == '0')
    digits.pop_back();

  std::string scientific = digits.substr(0, 1);
  if (digits.size() > 1)
    scientific += "." + digits.substr(1);
  int magnitude = exponent < 0 ? -exponent : exponent;
  scientific += exponent < 0 ? "e-" : "e+";
  scientific += (magnitude < 10 ? "0" : "") + std::to_string(magnitude);

  std::string fixed;
  if (exponent >= 0) {
    if (digits.size() <= size_t(exponent) + 1)
      fixed = digits + std::string(size_t(exponent) + 1 - digits.size(), '0');
    else
      fixed = digits.substr(0, size_t(exponent) + 1) + "." +
              digits.substr(size_t(exponent) + 1);
  } else {
    fixed = "0." + std::string(size_t(-exponent - 1), '0') + digits;
  }
  return sign + (fixed.size() <= scientific.size() ? fixed : scientific);
}

void ensureFloatLooking(std::string &s) {
  // "1" would read back as an integer attribute.
  if (s.find_first_of(".eE") == std::string::npos)
    s += ".0";
}

} // namespace

bool isFloatDType(DType dtype) {
  return dtype == DType::F16 || dtype == DType::BF16 || dtype == DType::F32 ||
         dtype == DType::F64;
}

bool isNaNBits(uint64_t bits, DType dtype) {
  FloatLayout l = layoutOf(dtype);
  uint64_t mantMask = (uint64_t(1) << l.mantBits) - 1;
  return (bits & expMaskOf(l)) == expMaskOf(l) && (bits & mantMask) != 0;
}

std::string parseFloatBits(llvm::StringRef s, DType dtype, uint64_t &bits) {
  FloatLayout l = layoutOf(dtype);
  bool negative = s.startswith("-");
  llvm::StringRef word = negative ? s.drop_front() : s;
  uint64_t sign = negative ? signBitOf(l) : 0;
  if (word == "inf") {
    bits = sign | expMaskOf(l);
    return "";
  }
  if (word == "nan") {
    bits = sign | canonicalNaN(l);
    return "";
  }
  auto outOfRange = [&]() {
    return "float literal '" + s.str() + "' out of range for " +
           dtypeName(dtype).str();
  };
  auto malformed = [&]() {
    return "malformed float literal '" + s.str() + "'";
  };

  if (dtype == DType::F32) {
    // Parse straight to float: going through double could round twice and
    // miss the value to_chars(float) meant.
    float f = 0;
    auto [end, ec] = std::from_chars(s.begin(), s.end(), f);
    if (ec == std::errc::result_out_of_range)
      return outOfRange();
    if (ec != std::errc() || end != s.end())
      return malformed();
    uint32_t b;
    std::memcpy(&b, &f, 4);
    bits = b;
    return "";
  }
  double d = 0;
  auto [end, ec] = std::from_chars(s.begin(), s.end(), d);
  if (ec == std::errc::result_out_of_range)
    return outOfRange();
  if (ec != std::errc() || end != s.end())
    return malformed();
  if (dtype == DType::F64) {
    std::memcpy(&bits, &d, 8);
    return "";
  }
  bits = encodeNarrow(d, l);
  if ((bits & expMaskOf(l)) == expMaskOf(l))
    return outOfRange(); // a finite literal that rounds to infinity
  return "";
}

std::string formatFloatBits(uint64_t bits, DType dtype) {
  FloatLayout l = layoutOf(dtype);
  uint64_t sign = bits & signBitOf(l);
  uint64_t magnitude = bits & ~sign;
  if (isNaNBits(bits, dtype)) {
    if (magnitude == canonicalNaN(l))
      return sign ? "-nan" : "nan";
    // Any other payload is kept verbatim, sign included.
    static const char *digits = "0123456789abcdef";
    std::string out = "nan(0x";
    for (int shift = l.expBits + l.mantBits + 1 - 4; shift >= 0; shift -= 4)
      out += digits[(bits >> shift) & 15];
    return out + ")";
  }
  if (magnitude == expMaskOf(l))
    return sign ? "-inf" : "inf";

  char buf[64];
  std::string out;
  if (dtype == DType::F32 || dtype == DType::F64) {
    // to_chars without a format is the shortest spelling that from_chars
    // reads back to the same value.
    std::to_chars_result r;
    if (dtype == DType::F32) {
      uint32_t b = uint32_t(bits);
      float f;
      std::memcpy(&f, &b, 4);
      r = std::to_chars(buf, buf + sizeof buf, f);
    } else {
      double d;
      std::memcpy(&d, &bits, 8);
      r = std::to_chars(buf, buf + sizeof buf, d);
    }
    out.assign(buf, r.ptr);
    ensureFloatLooking(out);
    return out;
  }
  // f16/bf16 have no to_chars: find the fewest significant digits whose
  // spelling parseFloatBits maps back to these bits. 17 digits print the
  // exact double, which always round-trips, so the loop ends.
  double v = decodeNarrow(bits, l);
  for (int precision = 1; precision <= 17; ++precision) {
    auto r = std::to_chars(buf, buf + sizeof buf, v,
                           std::chars_format::scientific, precision - 1);
    out = shorterNotation(llvm::StringRef(buf, size_t(r.ptr - buf)));
    ensureFloatLooking(out);
    uint64_t back = 0;
    if (parseFloatBits(out, dtype, back).empty() && back == bits)
      return out;
  }
  assert(false && "the exact value must round-trip");
  return out;
}

} // namespace text
} // namespace sparseloom
