//===- Parser.cpp - Parsing the textual form of the IR --------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// A recursive-descent parser for the grammar in docs/IRFormat.md, one token
// of lookahead. It builds the Module directly and rejects what it can see
// locally (a value defined twice, a bad element type, a value count that does
// not match the shape, a duplicate attribute); cross-node checks such as
// "every use is defined" belong to the verifier, which the caller runs.
//
// The parser's own error text is "LINE:COL: message" (1-based, columns in
// bytes); parseModule moves the position into the diagnostic's file part. Only
// the first error is reported: after it the input is not trusted to say
// anything meaningful.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/IR/Parser.h"
#include "sparseloom/Support/Diagnostics.h"

#include "Lexer.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/Twine.h"

#include <cstring>
#include <limits>

namespace sparseloom {

namespace {

using text::Token;

class Parser {
public:
  explicit Parser(llvm::StringRef buffer) : lexer_(buffer) { consume(); }

  /// Parses a whole module; on failure `error()` holds the message.
  bool parseModule(Module &module);
  const std::string &error() const { return error_; }

private:
  // --- Token helpers ------------------------------------------------------
  void consume() { tok_ = lexer_.lex(); }
  bool emitError(const Token &at, const llvm::Twine &message);
  /// Reports the lexer's own error when the current token is one.
  bool expected(const llvm::Twine &what);
  bool expect(Token::Kind kind, const char *what);
  bool expectKeyword(llvm::StringRef word);
  bool consumeIf(Token::Kind kind) {
    if (!tok_.is(kind))
      return false;
    consume();
    return true;
  }

  // --- Grammar ------------------------------------------------------------
  bool parseString(std::string &out, const char *what);
  bool parseInt64(int64_t &out, const char *what);
  bool parseName(std::string &out, const char *what);
  bool parseType(TensorType &type);
  bool parseAttributeMap(AttributeMap &map);
  bool parseAttributeValue(Attribute &attr);
  bool parseFloatElement(DType dtype, uint64_t &bits);
  bool parseElement(DType dtype, std::vector<uint8_t> &bytes);
  bool parseTensorLiteral(const TensorType &type, const Token &typeTok,
                          TensorDataRef &data);
  bool parseGraph(Graph &graph);
  bool parseWeight(Graph &graph);
  bool parseNode(Graph &graph);
  /// Records a definition; rejects a name defined before.
  bool define(const Token &at, const std::string &name);

  text::Lexer lexer_;
  Token tok_;
  std::string error_;
  llvm::StringMap<std::pair<unsigned, unsigned>> defined_;
};

bool Parser::emitError(const Token &at, const llvm::Twine &message) {
  if (error_.empty())
    error_ = (llvm::Twine(at.line) + ":" + llvm::Twine(at.col) + ": " + message)
                 .str();
  return false;
}

bool Parser::expected(const llvm::Twine &what) {
  if (tok_.is(Token::Error))
    return emitError(tok_, tok_.value);
  return emitError(tok_, "expected " + what);
}

bool Parser::expect(Token::Kind kind, const char *what) {
  if (consumeIf(kind))
    return true;
  return expected(what);
}

bool Parser::expectKeyword(llvm::StringRef word) {
  if (tok_.isKeyword(word)) {
    consume();
    return true;
  }
  return expected("'" + word + "'");
}

bool Parser::parseString(std::string &out, const char *what) {
  if (!tok_.is(Token::String))
    return expected(what);
  out = tok_.value;
  consume();
  return true;
}

bool Parser::parseInt64(int64_t &out, const char *what) {
  if (!tok_.is(Token::Number) || !text::isIntegerSpelling(tok_.spelling))
    return expected(what);
  uint64_t bits = 0;
  std::string err = text::parseIntegerBits(tok_.spelling, DType::I64, bits);
  if (!err.empty())
    return emitError(tok_, err);
  out = int64_t(bits);
  consume();
  return true;
}

bool Parser::parseName(std::string &out, const char *what) {
  if (tok_.is(Token::Identifier) || tok_.is(Token::String)) {
    out = tok_.is(Token::String) ? tok_.value : tok_.spelling.str();
    consume();
    return true;
  }
  return expected(what);
}

bool Parser::define(const Token &at, const std::string &name) {
  auto inserted = defined_.try_emplace(name, at.line, at.col);
  if (inserted.second)
    return true;
  auto first = inserted.first->second;
  std::string spelled;
  text::appendQuoted(spelled, name);
  return emitError(
      at, llvm::Twine("value ") + spelled + " is defined twice (first at " +
              llvm::Twine(first.first) + ":" + llvm::Twine(first.second) + ")");
}

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

// type := '?' | ('?' | dtype) '[' ('*' | dim (',' dim)*)? ']'
bool Parser::parseType(TensorType &type) {
  type = TensorType();
  if (consumeIf(Token::Question)) {
    if (!tok_.is(Token::LSquare))
      return true; // '?' alone: nothing known
  } else if (tok_.is(Token::Identifier)) {
    std::optional<DType> dtype = parseDType(tok_.spelling);
    if (!dtype)
      return emitError(tok_, "unknown element type '" + tok_.spelling + "'");
    type.dtype = *dtype;
    consume();
  } else {
    return expected("type");
  }
  if (!expect(Token::LSquare, "'[' after the element type"))
    return false;
  if (consumeIf(Token::Star))
    return expect(Token::RSquare, "']' after '*'");
  std::vector<Dim> dims;
  if (!tok_.is(Token::RSquare)) {
    do {
      if (tok_.is(Token::Number) && text::isIntegerSpelling(tok_.spelling)) {
        int64_t size = 0;
        Token at = tok_;
        if (!parseInt64(size, "dimension"))
          return false;
        if (size < 0)
          return emitError(at, "dimension size must not be negative");
        dims.push_back(Dim::known(size));
      } else if (consumeIf(Token::Question)) {
        dims.push_back(Dim::unknown());
      } else if (tok_.is(Token::Identifier) || tok_.is(Token::String)) {
        std::string symbol;
        Token at = tok_;
        if (!parseName(symbol, "dimension"))
          return false;
        if (symbol.empty())
          return emitError(at, "a symbolic dimension needs a name (use '?')");
        dims.push_back(Dim::symbolic(std::move(symbol)));
      } else {
        return expected("dimension (a size, a symbol or '?')");
      }
    } while (consumeIf(Token::Comma));
  }
  if (!expect(Token::RSquare, "',' or ']' in the shape"))
    return false;
  type.dims = std::move(dims);
  return true;
}

//===----------------------------------------------------------------------===//
// Attributes and tensor literals
//===----------------------------------------------------------------------===//

// attr-dict := '{' (key '=' value (',' key '=' value)*)? '}'
bool Parser::parseAttributeMap(AttributeMap &map) {
  if (!expect(Token::LBrace, "'{'"))
    return false;
  if (consumeIf(Token::RBrace))
    return true;
  do {
    Token keyTok = tok_;
    std::string key;
    if (!parseName(key, "attribute name"))
      return false;
    if (map.count(key)) {
      std::string spelled;
      text::appendQuoted(spelled, key);
      return emitError(keyTok, "duplicate attribute " + spelled);
    }
    if (!expect(Token::Equal, "'=' after the attribute name"))
      return false;
    Attribute value;
    if (!parseAttributeValue(value))
      return false;
    map.emplace(std::move(key), std::move(value));
  } while (consumeIf(Token::Comma));
  return expect(Token::RBrace, "',' or '}' in the attribute list");
}

bool Parser::parseFloatElement(DType dtype, uint64_t &bits) {
  // nan(0xBITS) spells a NaN with a payload; the bits are taken verbatim.
  bool isNaNWord = (tok_.is(Token::Identifier) && tok_.spelling == "nan") ||
                   (tok_.is(Token::Number) && tok_.spelling == "-nan");
  bool isFloatWord =
      isNaNWord || (tok_.is(Token::Identifier) && tok_.spelling == "inf");
  if (!isFloatWord && !tok_.is(Token::Number))
    return expected(llvm::Twine(dtypeName(dtype)) + " literal");
  Token literal = tok_;
  if (tok_.is(Token::Number) && text::isHexSpelling(tok_.spelling))
    return expected(llvm::Twine(dtypeName(dtype)) + " literal");
  consume();
  if (isNaNWord && tok_.is(Token::LParen)) {
    consume();
    if (!tok_.is(Token::Number) || !text::isHexSpelling(tok_.spelling))
      return expected("NaN bits like 0x7fc00001");
    unsigned width = unsigned(dtypeSize(dtype)) * 8;
    llvm::StringRef hex = tok_.spelling.drop_front(2);
    uint64_t value = 0;
    if (hex.size() > width / 4 || hex.getAsInteger(16, value) ||
        !text::isNaNBits(value, dtype))
      return emitError(tok_, "'" + tok_.spelling + "' is not a " +
                                 dtypeName(dtype) + " NaN bit pattern");
    consume();
    bits = value;
    return expect(Token::RParen, "')' after the NaN bits");
  }
  std::string err = text::parseFloatBits(literal.spelling, dtype, bits);
  if (!err.empty())
    return emitError(literal, err);
  return true;
}

// Appends one element of `dtype` (not string) to `bytes`.
bool Parser::parseElement(DType dtype, std::vector<uint8_t> &bytes) {
  uint64_t bits = 0;
  if (text::isFloatDType(dtype)) {
    if (!parseFloatElement(dtype, bits))
      return false;
  } else {
    if (!tok_.is(Token::Number) || !text::isIntegerSpelling(tok_.spelling))
      return expected("integer literal for a " + dtypeName(dtype) + " element");
    std::string err = text::parseIntegerBits(tok_.spelling, dtype, bits);
    if (!err.empty())
      return emitError(tok_, err);
    consume();
  }
  size_t size = dtypeSize(dtype);
  size_t at = bytes.size();
  bytes.resize(at + size);
  std::memcpy(&bytes[at], &bits, size); // little-endian host
  return true;
}

// dense<[e, ...]> | sparse<indices = [...], values = [...]>
//                 | elided<nnz = N, hash = 0xH>
bool Parser::parseTensorLiteral(const TensorType &type, const Token &typeTok,
                                TensorDataRef &data) {
  if (type.dtype == DType::Undefined || !type.isStatic())
    return emitError(typeTok, "a constant tensor needs a known element type "
                              "and a static shape, got " +
                                  formatType(type));
  std::vector<int64_t> dims = type.sizes();
  // Reject shapes whose element count overflows before anything allocates.
  int64_t elements = 1;
  for (int64_t d : dims) {
    if (d != 0 && elements > std::numeric_limits<int64_t>::max() / 4 / d)
      return emitError(typeTok, "tensor type " + formatType(type) +
                                    " has too many elements");
    elements *= d;
  }
  DType dtype = type.dtype;
  Token kindTok = tok_;

  auto parseElements = [&](std::vector<uint8_t> &bytes,
                           std::vector<std::string> *strings, int64_t &count) {
    count = 0;
    if (!expect(Token::LSquare, "'['"))
      return false;
    if (consumeIf(Token::RSquare))
      return true;
    do {
      if (strings) {
        std::string s;
        if (!parseString(s, "string literal"))
          return false;
        strings->push_back(std::move(s));
      } else if (!parseElement(dtype, bytes)) {
        return false;
      }
      ++count;
    } while (consumeIf(Token::Comma));
    return expect(Token::RSquare, "',' or ']' in the element list");
  };

  if (tok_.isKeyword("dense")) {
    consume();
    if (!expect(Token::Less, "'<' after 'dense'"))
      return false;
    Token listTok = tok_;
    std::vector<uint8_t> bytes;
    std::vector<std::string> strings;
    int64_t count = 0;
    if (!parseElements(bytes, dtype == DType::String ? &strings : nullptr,
                       count))
      return false;
    if (count != elements)
      return emitError(listTok, "tensor has " + llvm::Twine(count) +
                                    " values but its type " + formatType(type) +
                                    " has " + llvm::Twine(elements) +
                                    " elements");
    if (!expect(Token::Greater, "'>' after the values"))
      return false;
    data =
        dtype == DType::String
            ? TensorData::createStrings(std::move(dims), std::move(strings))
            : TensorData::createDense(dtype, std::move(dims), std::move(bytes));
    return true;
  }

  if (tok_.isKeyword("sparse")) {
    consume();
    if (dtype == DType::String)
      return emitError(kindTok, "sparse string tensors are not supported");
    if (!expect(Token::Less, "'<' after 'sparse'") ||
        !expectKeyword("indices") || !expect(Token::Equal, "'='") ||
        !expect(Token::LSquare, "'['"))
      return false;
    std::vector<int64_t> indices;
    if (!tok_.is(Token::RSquare)) {
      do {
        Token at = tok_;
        int64_t index = 0;
        if (!parseInt64(index, "index"))
          return false;
        if (index < 0 || index >= elements)
          return emitError(at, "sparse index " + llvm::Twine(index) +
                                   " is outside " + formatType(type));
        if (!indices.empty() && index <= indices.back())
          return emitError(at, "sparse indices must be strictly increasing");
        indices.push_back(index);
      } while (consumeIf(Token::Comma));
    }
    if (!expect(Token::RSquare, "',' or ']' in the index list") ||
        !expect(Token::Comma, "',' after the indices") ||
        !expectKeyword("values") || !expect(Token::Equal, "'='"))
      return false;
    Token listTok = tok_;
    std::vector<uint8_t> bytes;
    int64_t count = 0;
    if (!parseElements(bytes, nullptr, count))
      return false;
    if (count != int64_t(indices.size()))
      return emitError(listTok, "sparse tensor has " + llvm::Twine(count) +
                                    " values for " +
                                    llvm::Twine(indices.size()) + " indices");
    if (!expect(Token::Greater, "'>' after the values"))
      return false;
    data = TensorData::createSparseCoo(dtype, std::move(dims),
                                       std::move(indices), std::move(bytes));
    return true;
  }

  if (tok_.isKeyword("elided")) {
    consume();
    int64_t nnz = 0;
    if (!expect(Token::Less, "'<' after 'elided'") || !expectKeyword("nnz") ||
        !expect(Token::Equal, "'='"))
      return false;
    Token nnzTok = tok_;
    if (!parseInt64(nnz, "non-zero count"))
      return false;
    if (nnz < 0 || nnz > elements)
      return emitError(nnzTok, "nnz " + llvm::Twine(nnz) + " is outside [0, " +
                                   llvm::Twine(elements) + "]");
    if (!expect(Token::Comma, "',' after nnz") || !expectKeyword("hash") ||
        !expect(Token::Equal, "'='"))
      return false;
    uint64_t hash = 0;
    if (!tok_.is(Token::Number) || !text::isHexSpelling(tok_.spelling))
      return expected("hash like 0x0123456789abcdef");
    if (tok_.spelling.size() > 18 ||
        tok_.spelling.drop_front(2).getAsInteger(16, hash))
      return emitError(tok_, "hash '" + tok_.spelling + "' exceeds 64 bits");
    consume();
    if (!expect(Token::Greater, "'>' after the hash"))
      return false;
    data = TensorData::createElided(dtype, std::move(dims), nnz, hash);
    return true;
  }
  return expected("'dense', 'sparse' or 'elided'");
}

// value := int | float | string | list | ('ints'|'floats'|'strings') list
//        | 'tensor' '<' type '>' tensor-literal
bool Parser::parseAttributeValue(Attribute &attr) {
  if (tok_.is(Token::String)) {
    attr = Attribute(tok_.value);
    consume();
    return true;
  }
  if (tok_.is(Token::Number) && text::isIntegerSpelling(tok_.spelling)) {
    int64_t v = 0;
    if (!parseInt64(v, "integer"))
      return false;
    attr = Attribute(v);
    return true;
  }
  if (tok_.is(Token::Number) || tok_.isKeyword("inf") ||
      tok_.isKeyword("nan")) {
    uint64_t bits = 0;
    if (!parseFloatElement(DType::F32, bits))
      return false;
    uint32_t b = uint32_t(bits);
    float f;
    std::memcpy(&f, &b, 4);
    attr = Attribute(f);
    return true;
  }
  if (tok_.isKeyword("tensor")) {
    consume();
    if (!expect(Token::Less, "'<' after 'tensor'"))
      return false;
    Token typeTok = tok_;
    TensorType type;
    if (!parseType(type) || !expect(Token::Greater, "'>' after the type"))
      return false;
    TensorDataRef data;
    if (!parseTensorLiteral(type, typeTok, data))
      return false;
    attr = Attribute(std::move(data));
    return true;
  }

  // Lists. The kind comes from the prefix, else from the first element.
  enum class ListKind {
    Unknown,
    Ints,
    Floats,
    Strings
  } kind = ListKind::Unknown;
  if (tok_.isKeyword("ints"))
    kind = ListKind::Ints;
  else if (tok_.isKeyword("floats"))
    kind = ListKind::Floats;
  else if (tok_.isKeyword("strings"))
    kind = ListKind::Strings;
  if (kind != ListKind::Unknown)
    consume();
  else if (!tok_.is(Token::LSquare))
    return expected("attribute value");
  Token open = tok_;
  if (!expect(Token::LSquare, "'['"))
    return false;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::vector<std::string> strings;
  if (!tok_.is(Token::RSquare)) {
    do {
      if (kind == ListKind::Unknown) {
        if (tok_.is(Token::String))
          kind = ListKind::Strings;
        else if (tok_.is(Token::Number) &&
                 text::isIntegerSpelling(tok_.spelling))
          kind = ListKind::Ints;
        else
          kind = ListKind::Floats;
      }
      if (kind == ListKind::Strings) {
        std::string s;
        if (!parseString(s, "string literal (the list holds strings)"))
          return false;
        strings.push_back(std::move(s));
      } else if (kind == ListKind::Ints) {
        int64_t v = 0;
        if (!parseInt64(v, "integer literal (the list holds integers)"))
          return false;
        ints.push_back(v);
      } else {
        // An integer spelling in a float list is a mistake the printer
        // never makes; insisting on '.' keeps the list kind unambiguous.
        if (tok_.is(Token::Number) && text::isIntegerSpelling(tok_.spelling))
          return expected("float literal (the list holds floats; write " +
                          tok_.spelling + ".0)");
        uint64_t bits = 0;
        if (!parseFloatElement(DType::F32, bits))
          return false;
        uint32_t b = uint32_t(bits);
        float f;
        std::memcpy(&f, &b, 4);
        floats.push_back(f);
      }
    } while (consumeIf(Token::Comma));
  }
  if (!expect(Token::RSquare, "',' or ']' in the list"))
    return false;
  switch (kind) {
  case ListKind::Unknown:
    return emitError(open, "an empty list needs its kind: write ints[], "
                           "floats[] or strings[]");
  case ListKind::Ints:
    attr = Attribute(std::move(ints));
    break;
  case ListKind::Floats:
    attr = Attribute(std::move(floats));
    break;
  case ListKind::Strings:
    attr = Attribute(std::move(strings));
    break;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Graph
//===----------------------------------------------------------------------===//

// weight := 'weight' value ':' type '=' tensor-literal ('annotate' attr-dict)?
bool Parser::parseWeight(Graph &graph) {
  consume(); // 'weight'
  Token nameTok = tok_;
  if (!tok_.is(Token::ValueName))
    return expected("weight name like %w");
  Weight weight;
  weight.name = tok_.value;
  consume();
  if (!define(nameTok, weight.name))
    return false;
  if (!expect(Token::Colon, "':' and the weight's type"))
    return false;
  Token typeTok = tok_;
  TensorType type;
  if (!parseType(type) || !expect(Token::Equal, "'=' after the weight's type"))
    return false;
  if (!parseTensorLiteral(type, typeTok, weight.data))
    return false;
  if (tok_.isKeyword("annotate")) {
    consume();
    if (!parseAttributeMap(weight.annotations))
      return false;
  }
  graph.setWeight(std::move(weight));
  return true;
}

// node := results '=' op '(' operands ')' attr-dict? ('loc' '(' string ')')?
//         ('annotate' attr-dict)?
bool Parser::parseNode(Graph &graph) {
  Node node;
  std::vector<std::pair<std::string, TensorType>> types;
  if (tok_.is(Token::LParen)) {
    // "()" is the result list of a node without outputs.
    consume();
    if (!expect(Token::RParen, "')' (only an empty result list is "
                               "parenthesized)"))
      return false;
  } else {
    do {
      if (tok_.isKeyword("none")) {
        consume();
        node.outputs.emplace_back();
        continue;
      }
      Token nameTok = tok_;
      if (!tok_.is(Token::ValueName))
        return expected("result name like %x, or 'none'");
      std::string name = tok_.value;
      if (name.empty())
        return emitError(nameTok, "a result needs a name; write 'none' for "
                                  "an omitted output");
      consume();
      if (!define(nameTok, name))
        return false;
      TensorType type;
      if (consumeIf(Token::Colon) && !parseType(type))
        return false;
      node.outputs.push_back(name);
      types.emplace_back(std::move(name), std::move(type));
    } while (consumeIf(Token::Comma));
  }
  if (!expect(Token::Equal, "'=' after the results"))
    return false;

  std::string first;
  if (!parseName(first, "operation name"))
    return false;
  if (consumeIf(Token::ColonColon)) {
    node.domain = std::move(first);
    if (!parseName(node.opType, "operation name after '::'"))
      return false;
  } else {
    node.opType = std::move(first);
  }

  if (!expect(Token::LParen, "'(' before the operands"))
    return false;
  if (!tok_.is(Token::RParen)) {
    do {
      if (tok_.isKeyword("none")) {
        consume();
        node.inputs.emplace_back();
      } else if (tok_.is(Token::ValueName)) {
        node.inputs.push_back(tok_.value);
        consume();
      } else {
        return expected("operand like %x, or 'none'");
      }
    } while (consumeIf(Token::Comma));
  }
  if (!expect(Token::RParen, "',' or ')' in the operand list"))
    return false;

  if (tok_.is(Token::LBrace) && !parseAttributeMap(node.attributes))
    return false;
  if (tok_.isKeyword("loc")) {
    consume();
    if (!expect(Token::LParen, "'(' after 'loc'") ||
        !parseString(node.name, "node name string") ||
        !expect(Token::RParen, "')' after the node name"))
      return false;
  }
  if (tok_.isKeyword("annotate")) {
    consume();
    if (!parseAttributeMap(node.annotations))
      return false;
  }
  for (auto &entry : types)
    graph.setType(entry.first, std::move(entry.second));
  graph.addNode(std::move(node));
  return true;
}

// graph := 'graph' string '(' inputs ')' '->' '(' outputs ')' '{' stmt* '}'
bool Parser::parseGraph(Graph &graph) {
  consume(); // 'graph'
  if (!parseString(graph.name, "graph name string"))
    return false;
  if (!expect(Token::LParen, "'(' before the graph inputs"))
    return false;
  if (!tok_.is(Token::RParen)) {
    do {
      Token nameTok = tok_;
      if (!tok_.is(Token::ValueName))
        return expected("input name like %x");
      std::string name = tok_.value;
      consume();
      if (!define(nameTok, name))
        return false;
      TensorType type;
      if (consumeIf(Token::Colon) && !parseType(type))
        return false;
      graph.inputs.push_back(name);
      graph.setType(name, std::move(type));
    } while (consumeIf(Token::Comma));
  }
  if (!expect(Token::RParen, "',' or ')' in the input list") ||
      !expect(Token::Arrow, "'->' before the graph outputs") ||
      !expect(Token::LParen, "'(' before the graph outputs"))
    return false;
  if (!tok_.is(Token::RParen)) {
    do {
      if (!tok_.is(Token::ValueName))
        return expected("output name like %y");
      graph.outputs.push_back(tok_.value);
      consume();
    } while (consumeIf(Token::Comma));
  }
  if (!expect(Token::RParen, "',' or ')' in the output list") ||
      !expect(Token::LBrace, "'{' before the graph body"))
    return false;
  while (!tok_.is(Token::RBrace)) {
    if (tok_.isKeyword("weight")) {
      if (!parseWeight(graph))
        return false;
    } else if (tok_.is(Token::ValueName) || tok_.is(Token::LParen) ||
               tok_.isKeyword("none")) {
      if (!parseNode(graph))
        return false;
    } else {
      return expected("'weight', a node, or '}'");
    }
  }
  consume();
  return true;
}

bool Parser::parseModule(Module &module) {
  if (!expectKeyword("module") || !expect(Token::LBrace, "'{' after 'module'"))
    return false;
  // Each header field at most once; any order, the printer's is canonical.
  llvm::StringMap<bool> seen;
  auto once = [&](const Token &at) {
    if (seen.insert({at.spelling, true}).second)
      return true;
    return emitError(at, "'" + at.spelling + "' is given twice");
  };
  while (!tok_.isKeyword("graph")) {
    Token key = tok_;
    if (tok_.isKeyword("ir_version") || tok_.isKeyword("model_version")) {
      consume();
      int64_t &field =
          key.spelling == "ir_version" ? module.irVersion : module.modelVersion;
      if (!once(key) || !expect(Token::Equal, "'='") ||
          !parseInt64(field, "integer"))
        return false;
    } else if (tok_.isKeyword("producer")) {
      consume();
      if (!once(key) || !expect(Token::Equal, "'='") ||
          !parseString(module.producerName, "producer name string") ||
          !parseString(module.producerVersion, "producer version string"))
        return false;
    } else if (tok_.isKeyword("domain") || tok_.isKeyword("doc")) {
      consume();
      std::string &field =
          key.spelling == "domain" ? module.domain : module.docString;
      if (!once(key) || !expect(Token::Equal, "'='") ||
          !parseString(field, "string"))
        return false;
    } else if (tok_.isKeyword("opset")) {
      consume();
      Token domainTok = tok_;
      std::string domain;
      int64_t version = 0;
      if (!parseString(domain, "opset domain string") ||
          !expect(Token::Equal, "'='") || !parseInt64(version, "opset version"))
        return false;
      if (!module.opsetImports.emplace(domain, version).second) {
        std::string spelled;
        text::appendQuoted(spelled, domain);
        return emitError(domainTok, "opset " + spelled + " is given twice");
      }
    } else if (tok_.isKeyword("metadata")) {
      consume();
      std::string k, v;
      if (!parseString(k, "metadata key string") ||
          !expect(Token::Equal, "'='") ||
          !parseString(v, "metadata value string"))
        return false;
      module.metadata.emplace_back(std::move(k), std::move(v));
    } else if (tok_.isKeyword("annotate")) {
      consume();
      if (!once(key) || !parseAttributeMap(module.annotations))
        return false;
    } else {
      return expected("module field or 'graph'");
    }
  }
  if (!parseGraph(module.graph))
    return false;
  if (!expect(Token::RBrace, "'}' closing the module"))
    return false;
  if (!tok_.is(Token::Eof))
    return expected("end of input after the module");
  return true;
}

} // namespace

llvm::Expected<std::unique_ptr<Module>>
parseModule(llvm::StringRef text, llvm::StringRef bufferName) {
  auto module = std::make_unique<Module>();
  Parser parser(text);
  if (!parser.parseModule(*module)) {
    // "LINE:COL: message" becomes file "NAME:LINE:COL" so that tools print
    // the compiler-style "NAME:LINE:COL: message".
    llvm::StringRef full = parser.error();
    size_t lineEnd = full.find(':');
    size_t colEnd = full.find(": ", lineEnd + 1);
    std::string location = full.substr(0, colEnd).str();
    std::string reason = full.substr(colEnd + 2).str();
    std::string file =
        bufferName.empty() ? location : bufferName.str() + ":" + location;
    return llvm::make_error<DiagnosticError>(file, "", reason);
  }
  return module;
}

} // namespace sparseloom
