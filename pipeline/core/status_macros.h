// VIGIA_RETURN_IF_ERROR: the one way vigia passes an error up.
//
//   VIGIA_RETURN_IF_ERROR(m.Duration("hop", Bound::kPositive, &out->hop));
//
// evaluates the absl::Status expression once and returns it from the
// enclosing function (which returns absl::Status or absl::StatusOr<T>) when
// it is not OK. Abseil does not export one; this is the spelling of the
// Google-internal macro, prefixed so it cannot clash with another library's.
#ifndef VIGIA_PIPELINE_CORE_STATUS_MACROS_H_
#define VIGIA_PIPELINE_CORE_STATUS_MACROS_H_

#include "absl/base/optimization.h"
#include "absl/status/status.h"

#define VIGIA_RETURN_IF_ERROR(expr)                \
  do {                                             \
    if (::absl::Status vigia_status_ = (expr);     \
        ABSL_PREDICT_FALSE(!vigia_status_.ok())) { \
      return vigia_status_;                        \
    }                                              \
  } while (0)

#endif  // VIGIA_PIPELINE_CORE_STATUS_MACROS_H_
