#pragma once
// Values written into logfmt log lines. Anything that came from outside (a username, a client
// id, a property name, a `from` that did not match) goes through log_quote(), so that it can
// neither end the line nor close its quotes and forge another key: operators and auditors read
// these logs and must be able to trust every `event=` they see.

#include <string>
#include <string_view>

namespace bl {

/// The logfmt-escaped text of `v` without surrounding quotes: `"` and `\` are escaped, \n \r \t
/// are written as such, other control bytes (and DEL) as \xNN. Valid UTF-8 passes unchanged.
std::string log_escape(std::string_view v);

/// `"` + log_escape(v) + `"`: write `username={}` with log_quote(name), never `"{}"`.
std::string log_quote(std::string_view v);

}  // namespace bl
