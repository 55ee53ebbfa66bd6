//===- Family.cpp - The variants of one task ------------------------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//

#include "sparseloom/IR/Family.h"

namespace sparseloom {

Family Family::ofOne(std::unique_ptr<Module> module, std::string file,
                     std::string variant) {
  Family family;
  family.members.push_back(
      FamilyMember{std::move(variant), std::move(file), std::move(module)});
  return family;
}

} // namespace sparseloom
