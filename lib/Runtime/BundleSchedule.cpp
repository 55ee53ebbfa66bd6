//===- BundleSchedule.cpp - Picking and running a bundle's variants -------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// What a scheduler does with a bundle, in its simplest form: pick one of a
// task's stitched variants and a processor for a request's SLO (latency
// deadline, accuracy floor), and run a variant as one session over its
// segment programs. The rule (stated in sparseloom_runtime.h and
// docs/BundleFormat.md) prefers meeting the whole SLO at the highest
// accuracy; when that is impossible it keeps the accuracy floor and misses
// the deadline by as little as it can, and only when no variant reaches the
// floor gives the most accurate one. Accuracy comes first because a late
// answer can still be used, a wrong one cannot be told apart from a right
// one. The scan is one pass over the task's variants and allocates nothing,
// so it can run per request.
//
//===----------------------------------------------------------------------===//

#include "Bundle.h"

#include <cmath>

using namespace sparseloom;
using namespace sparseloom::format;
using namespace sparseloom::runtime;

namespace {

/// One variant as the rule sees it.
struct Candidate {
  uint32_t variant = 0; // index within the task
  uint32_t processor = 0;
  double latency = INFINITY;
  double accuracy = 0;
};

/// The variant's best processor (lowest latency, ties to the lower index);
/// latency +inf when it runs nowhere.
Candidate describe(const sl_bundle &b, uint32_t task, uint32_t v) {
  Candidate c;
  c.variant = v;
  uint32_t global = b.tasks[task].firstVariant + v;
  c.accuracy = b.variants[global].estimatedAccuracy;
  for (uint32_t p = 0; p < b.numProcessors; ++p) {
    double ms = b.latency(global, p);
    if (ms < c.latency) {
      c.latency = ms;
      c.processor = p;
    }
  }
  return c;
}

/// Rule 1 and 3: more accurate, then faster (then the lower index: the scan
/// keeps the first of equals).
bool moreAccurate(const Candidate &a, const Candidate &b) {
  if (a.accuracy != b.accuracy)
    return a.accuracy > b.accuracy;
  return a.latency < b.latency;
}

/// Rule 2: faster, then more accurate.
bool faster(const Candidate &a, const Candidate &b) {
  if (a.latency != b.latency)
    return a.latency < b.latency;
  return a.accuracy > b.accuracy;
}

} // namespace

extern "C" {

sl_status sl_bundle_pick_variant(const sl_bundle *b, size_t task,
                                 double deadline, double floor,
                                 size_t *out_variant, size_t *out_processor,
                                 uint32_t *out_slo_missed) {
  if (!b || !out_variant || !out_processor)
    return setError(SL_ERROR_INVALID_ARGUMENT,
                    "bundle, out_variant or out_processor is null");
  if (task >= b->numTasks)
    return setError(SL_ERROR_INVALID_ARGUMENT,
                    "task index %zu out of range (%u tasks)", task,
                    b->numTasks);
  if (!(deadline > 0))
    return setError(SL_ERROR_INVALID_ARGUMENT,
                    "latency deadline %g ms must be > 0 (+inf for none)",
                    deadline);
  if (!(floor >= 0 && floor <= 1))
    return setError(SL_ERROR_INVALID_ARGUMENT,
                    "accuracy floor %g must be in [0, 1]", floor);

  bool haveBoth = false, haveFloor = false, haveAny = false;
  Candidate both, meetsFloor, any;
  const BundleTask &t = b->tasks[task];
  for (uint32_t v = 0; v < t.numVariants; ++v) {
    Candidate c = describe(*b, uint32_t(task), v);
    if (std::isinf(c.latency))
      continue; // runs on no processor
    bool floorOk = c.accuracy >= floor;
    if (floorOk && c.latency <= deadline &&
        (!haveBoth || moreAccurate(c, both))) {
      both = c;
      haveBoth = true;
    }
    if (floorOk && (!haveFloor || faster(c, meetsFloor))) {
      meetsFloor = c;
      haveFloor = true;
    }
    if (!haveAny || moreAccurate(c, any)) {
      any = c;
      haveAny = true;
    }
  }
  if (!haveAny)
    return setError(SL_ERROR_INVALID_ARGUMENT,
                    "no variant of task %zu '%s' runs on any processor", task,
                    b->stringAt(t.nameOffset));
  const Candidate &pick = haveBoth ? both : haveFloor ? meetsFloor : any;
  uint32_t missed = SL_SLO_MET;
  if (pick.latency > deadline)
    missed |= SL_SLO_LATENCY_MISSED;
  if (pick.accuracy < floor)
    missed |= SL_SLO_ACCURACY_MISSED;
  *out_variant = pick.variant;
  *out_processor = pick.processor;
  if (out_slo_missed)
    *out_slo_missed = missed;
  return SL_OK;
}

sl_status sl_bundle_session_create(const sl_bundle *b, size_t task,
                                   size_t variant,
                                   const sl_session_options *options,
                                   const sl_allocator *allocator,
                                   sl_session **out_session) {
  if (!b || !out_session)
    return setError(SL_ERROR_INVALID_ARGUMENT, "bundle or out_session is null");
  if (task >= b->numTasks)
    return setError(SL_ERROR_INVALID_ARGUMENT,
                    "task index %zu out of range (%u tasks)", task,
                    b->numTasks);
  if (variant >= b->tasks[task].numVariants)
    return setError(SL_ERROR_INVALID_ARGUMENT,
                    "variant index %zu out of range (task %zu has %u)", variant,
                    task, b->tasks[task].numVariants);
  const BundleVariant &v = b->variant(uint32_t(task), uint32_t(variant));
  // The session keeps its own copy of the program list, so a small array
  // from the caller's allocator for the hand-over is enough.
  sl_allocator alloc = resolveAllocator(allocator);
  size_t bytes = sizeof(const sl_program *) * v.numSegments;
  auto *programs = static_cast<const sl_program **>(
      allocateOrFail(alloc, bytes, 64, "variant program list"));
  if (!programs)
    return SL_ERROR_OUT_OF_MEMORY;
  for (uint32_t s = 0; s < v.numSegments; ++s)
    programs[s] = b->programs[b->segments[v.firstSegment + s].program];
  sl_status status = sl_session_create(programs, v.numSegments, options,
                                       allocator, out_session);
  alloc.free(programs, alloc.user);
  return status;
}

} // extern "C"
