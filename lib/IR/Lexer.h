//===- Lexer.h - Tokens and literals of the textual IR ----------*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Private to lib/IR: the tokenizer of the textual IR (docs/IRFormat.md) and
// the literal rules that the printer and the parser must agree on. Keeping
// "what is a bare name" and "how a float is spelled" in one place is what
// makes print -> parse -> print byte-identical: the printer decides whether a
// name needs quotes with the same predicate the lexer uses to end a name, and
// it checks every non-f32/f64 float it writes by parsing it back with the
// parser's own conversion.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_LIB_IR_LEXER_H
#define SPARSELOOM_LIB_IR_LEXER_H

#include "sparseloom/IR/Types.h"

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>

namespace sparseloom {
namespace text {

struct Token {
  enum Kind {
    Eof,
    Error,      // `value` holds the message
    Identifier, // [A-Za-z_][A-Za-z0-9_.]*
    ValueName,  // %name or %"name"; `value` holds the decoded name
    String,     // "..."; `value` holds the decoded bytes
    Number,     // integer, hex, float, -inf, -nan; validated by the lexer
    LBrace,
    RBrace,
    LParen,
    RParen,
    LSquare,
    RSquare,
    Less,
    Greater,
    Comma,
    Equal,
    Colon,
    ColonColon,
    Arrow,
    Star,
    Question,
  };

  Kind kind = Eof;
  llvm::StringRef spelling;
  std::string value;
  unsigned line = 1;
  unsigned col = 1;

  bool is(Kind k) const { return kind == k; }
  bool isKeyword(llvm::StringRef word) const {
    return kind == Identifier && spelling == word;
  }
};

class Lexer {
public:
  explicit Lexer(llvm::StringRef buffer) : buffer_(buffer) {}
  Token lex();

private:
  void skipSpaceAndComments();
  Token make(Token::Kind kind, size_t start, unsigned col);
  Token error(size_t at, const std::string &message);
  Token lexQuoted(Token::Kind kind, size_t start, unsigned col);
  Token lexNumber(size_t start, unsigned col);
  unsigned colOf(size_t at) const { return unsigned(at - lineStart_) + 1; }

  llvm::StringRef buffer_;
  size_t pos_ = 0;
  unsigned line_ = 1;
  size_t lineStart_ = 0;
};

//===----------------------------------------------------------------------===//
// Shared spelling rules
//===----------------------------------------------------------------------===//

/// [A-Za-z_][A-Za-z0-9_.]*: attribute keys, op names, domains, dim symbols.
bool isIdentifier(llvm::StringRef s);
/// Non-empty run of [A-Za-z0-9_.$/-] without "//": may follow '%' unquoted.
bool isBareValueName(llvm::StringRef s);
bool isBareValueChar(char c);

/// Appends `s` as a double-quoted string literal with escapes.
void appendQuoted(std::string &out, llvm::StringRef s);

/// Classification of a Number token's spelling.
bool isIntegerSpelling(llvm::StringRef s); // -?[0-9]+
bool isHexSpelling(llvm::StringRef s);     // 0x[0-9a-fA-F]+
bool isFloatSpelling(llvm::StringRef s);   // has '.' or 'e', or inf/nan

/// Integer element of `dtype` (an integer type or bool) from an integer
/// spelling: the value's two's complement bits truncated to the element
/// size. Returns an error message, or "" on success.
std::string parseIntegerBits(llvm::StringRef s, DType dtype, uint64_t &bits);
/// Float element of `dtype` (f16, bf16, f32, f64) from a decimal, integer,
/// inf or nan spelling (nan is the canonical quiet NaN, -nan its negation).
/// Returns an error message, or "" on success.
std::string parseFloatBits(llvm::StringRef s, DType dtype, uint64_t &bits);
/// The canonical spelling of float bits of `dtype`: the shortest decimal that
/// parseFloatBits maps back to the same bits, always containing '.' or 'e';
/// or inf, -inf, nan, -nan; or nan(0x...) for any other NaN payload.
std::string formatFloatBits(uint64_t bits, DType dtype);
/// True when `bits` encode a NaN of the float type `dtype`.
bool isNaNBits(uint64_t bits, DType dtype);
/// True for f16, bf16, f32, f64.
bool isFloatDType(DType dtype);

} // namespace text
} // namespace sparseloom

#endif // SPARSELOOM_LIB_IR_LEXER_H
