// The benchmark glue's error reporting (kernels/bench/*.cu): a message copied into the
// caller's buffer, cut to fit and always NUL-terminated, beside a nonzero return code.
#pragma once

#include <cstddef>
#include <cstring>

namespace spice_glue {

inline void describe(const char* what, char* err, size_t err_len) {
    if (err_len == 0) return;
    std::strncpy(err, what, err_len - 1);
    err[err_len - 1] = 0;
}

}  // namespace spice_glue
