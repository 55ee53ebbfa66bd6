//===- ParseErrorTest.cpp - Diagnostics of the textual IR parser ----------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Malformed inputs and the exact message each one gets. The messages are part
// of the interface (lit tests match them), so every case asserts the full
// "LINE:COL: ..." text, and that the error is a DiagnosticError carrying the
// buffer name so a tool prints it in the common format.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/IR/Parser.h"
#include "sparseloom/Support/Diagnostics.h"

#include "gtest/gtest.h"

using namespace sparseloom;

namespace {

/// The diagnostic message of a parse that must fail ("" if it succeeded).
std::string parseError(const std::string &text) {
  auto parsed = parseModule(text, "bad.slir");
  if (parsed) {
    ADD_FAILURE() << "parse unexpectedly succeeded:\n" << text;
    return "";
  }
  std::string message;
  llvm::handleAllErrors(
      parsed.takeError(),
      [&](const DiagnosticError &diag) {
        // The position travels with the file name: "bad.slir:LINE:COL".
        llvm::StringRef file = diag.file();
        EXPECT_TRUE(file.consume_front("bad.slir:")) << diag.file();
        EXPECT_TRUE(diag.node().empty());
        message = file.str() + ": " + diag.reason();
      },
      [&](const llvm::ErrorInfoBase &other) {
        ADD_FAILURE() << "not a DiagnosticError: " << other.message();
      });
  return message;
}

/// Wraps graph-body lines (starting on line 3) in a minimal module.
std::string inGraph(const std::string &body) {
  return "module {\n  graph \"g\" (%x : f32[2]) -> (%y) {\n" + body +
         "  }\n}\n";
}

TEST(TextParseError, UnknownDType) {
  EXPECT_EQ(parseError(inGraph("    %y : f33[2] = Relu(%x)\n")),
            "3:10: unknown element type 'f33'");
}

TEST(TextParseError, ValueDefinedTwice) {
  EXPECT_EQ(parseError(inGraph("    %y : f32[2] = Relu(%x)\n"
                               "    %y : f32[2] = Relu(%x)\n")),
            "4:5: value \"y\" is defined twice (first at 3:5)");
  // A weight may not reuse a graph input's name either.
  EXPECT_EQ(parseError(inGraph("    weight %x : f32[1] = dense<[1.0]>\n")),
            "3:12: value \"x\" is defined twice (first at 2:14)");
}

TEST(TextParseError, WeightValueCountMismatch) {
  EXPECT_EQ(parseError(inGraph("    weight %w : f32[2,2] = dense<[1.0, 2.0, "
                               "3.0]>\n")),
            "3:34: tensor has 3 values but its type f32[2,2] has 4 elements");
  EXPECT_EQ(parseError(inGraph("    weight %w : f32[4] = sparse<indices = [0, "
                               "1], values = [1.0]>\n")),
            "3:60: sparse tensor has 1 values for 2 indices");
}

TEST(TextParseError, DuplicateAttributeName) {
  EXPECT_EQ(parseError(inGraph("    %y : f32[2] = Relu(%x) {a = 1, b = 2, "
                               "a = 3}\n")),
            "3:43: duplicate attribute \"a\"");
}

TEST(TextParseError, MalformedNumbers) {
  EXPECT_EQ(parseError(inGraph("    %y : f32[2] = Relu(%x) {a = 1.2.3}\n")),
            "3:33: malformed number '1.2.3'");
  EXPECT_EQ(parseError(inGraph("    %y : f32[2] = Relu(%x) {a = 12abc}\n")),
            "3:33: malformed number '12abc'");
  EXPECT_EQ(parseError(inGraph("    %y : f32[2] = Relu(%x) {a = 1e}\n")),
            "3:33: malformed number '1e'");
  EXPECT_EQ(parseError(inGraph("    %y : f32[2] = Relu(%x) {a = -infinity}\n")),
            "3:33: malformed number '-infinity'");
}

TEST(TextParseError, NumbersOutOfRange) {
  EXPECT_EQ(parseError(inGraph("    weight %w : i8[2] = dense<[127, 128]>\n")),
            "3:37: integer literal '128' out of range for i8");
  EXPECT_EQ(parseError(inGraph("    weight %w : u8[1] = dense<[-1]>\n")),
            "3:32: integer literal '-1' out of range for u8");
  EXPECT_EQ(parseError(inGraph("    weight %w : bool[1] = dense<[2]>\n")),
            "3:34: integer literal '2' out of range for bool");
  EXPECT_EQ(parseError(inGraph("    %y : f32[2] = Relu(%x) {a = "
                               "9223372036854775808}\n")),
            "3:33: integer literal '9223372036854775808' out of range for i64");
  EXPECT_EQ(parseError(inGraph("    weight %w : f16[1] = dense<[70000.0]>\n")),
            "3:33: float literal '70000.0' out of range for f16");
  EXPECT_EQ(parseError(inGraph("    weight %w : f32[1] = dense<[1e39]>\n")),
            "3:33: float literal '1e39' out of range for f32");
}

TEST(TextParseError, MissingPunctuation) {
  EXPECT_EQ(parseError(inGraph("    %y : f32[2] = Relu(%x {a = 1}\n")),
            "3:27: expected ',' or ')' in the operand list");
  EXPECT_EQ(parseError(inGraph("    %y : f32[2] Relu(%x)\n")),
            "3:17: expected '=' after the results");
  EXPECT_EQ(
      parseError("module {\n  graph \"g\" (%x : f32[2]) (%y) {\n  }\n}\n"),
      "2:27: expected '->' before the graph outputs");
  EXPECT_EQ(parseError(inGraph("    %y : f32[2,3 = Relu(%x)\n")),
            "3:18: expected ',' or ']' in the shape");
}

TEST(TextParseError, UnterminatedStringAndBadEscape) {
  EXPECT_EQ(
      parseError("module {\n  doc = \"abc\n  graph \"g\" () -> () {}\n}\n"),
      "2:9: unterminated string");
  EXPECT_EQ(
      parseError("module {\n  doc = \"a\\qb\"\n  graph \"g\" () -> () {}\n}\n"),
      "2:11: invalid escape sequence in string (use \\\\, \\\", \\n, \\t "
      "or two hex digits)");
}

TEST(TextParseError, UntypedEmptyList) {
  EXPECT_EQ(parseError(inGraph("    %y : f32[2] = Relu(%x) {a = []}\n")),
            "3:33: an empty list needs its kind: write ints[], floats[] or "
            "strings[]");
}

TEST(TextParseError, MixedListKinds) {
  EXPECT_EQ(parseError(inGraph("    %y : f32[2] = Relu(%x) {a = [1, 2.5]}\n")),
            "3:37: expected integer literal (the list holds integers)");
  EXPECT_EQ(parseError(inGraph("    %y : f32[2] = Relu(%x) {a = [1.5, 2]}\n")),
            "3:39: expected float literal (the list holds floats; write 2.0)");
}

TEST(TextParseError, BadSparseIndices) {
  EXPECT_EQ(parseError(inGraph("    weight %w : f32[4] = sparse<indices = [2, "
                               "1], values = [1.0, 2.0]>\n")),
            "3:47: sparse indices must be strictly increasing");
  EXPECT_EQ(parseError(inGraph("    weight %w : f32[4] = sparse<indices = "
                               "[4], values = [1.0]>\n")),
            "3:44: sparse index 4 is outside f32[4]");
}

TEST(TextParseError, ConstantNeedsStaticType) {
  EXPECT_EQ(parseError(inGraph("    weight %w : f32[N] = dense<[1.0]>\n")),
            "3:17: a constant tensor needs a known element type and a static "
            "shape, got f32[N]");
}

TEST(TextParseError, BadNaNBits) {
  EXPECT_EQ(parseError(inGraph("    %y : f32[2] = Relu(%x) {a = "
                               "nan(0x3f800000)}\n")),
            "3:37: '0x3f800000' is not a f32 NaN bit pattern");
}

TEST(TextParseError, UnexpectedCharacterAndTrailingInput) {
  EXPECT_EQ(parseError(inGraph("    %y : f32[2] = Relu(%x) @\n")),
            "3:28: unexpected character '@'");
  EXPECT_EQ(parseError("module {\n  graph \"g\" () -> () {\n  }\n}\nmodule\n"),
            "5:1: expected end of input after the module");
  EXPECT_EQ(parseError("module {\n  graph \"g\" () -> () {\n"),
            "3:1: expected 'weight', a node, or '}'");
}

TEST(TextParseError, HeaderProblems) {
  EXPECT_EQ(parseError("module {\n  ir_version = 7\n  ir_version = 8\n"
                       "  graph \"g\" () -> () {}\n}\n"),
            "3:3: 'ir_version' is given twice");
  EXPECT_EQ(parseError("module {\n  opset \"\" = 13\n  opset \"\" = 14\n"
                       "  graph \"g\" () -> () {}\n}\n"),
            "3:9: opset \"\" is given twice");
  EXPECT_EQ(parseError("module {\n  producer = \"x\"\n  graph \"g\" () -> () "
                       "{}\n}\n"),
            "3:3: expected producer version string");
  EXPECT_EQ(parseError("graph \"g\" () -> () {}\n"), "1:1: expected 'module'");
}

TEST(TextParseError, LogIncludesTheFileName) {
  auto parsed = parseModule("module {\n  bogus\n}\n", "model.slir");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(llvm::toString(parsed.takeError()),
            "model.slir:2:3: expected module field or 'graph'");
}

} // namespace
