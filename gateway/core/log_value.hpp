#pragma once
// Values written into logfmt log lines. Anything that came from outside (a username, a client
// id, a property name, a `from` that did not match) goes through log_quote(), so that it can
// neither end the line nor close its quotes and forge another key: operators and auditors read
// these logs and must be able to trust every `event=` they see.

#include <string>
#include <string_view>
#include <vector>

namespace bl {

/// The logfmt-escaped text of `v` without surrounding quotes: `"` and `\` are escaped, \n \r \t
/// are written as such, other control bytes (and DEL) as \xNN. Valid UTF-8 passes unchanged.
std::string log_escape(std::string_view v);

/// `"` + log_escape(v) + `"`: write `username={}` with log_quote(name), never `"{}"`.
std::string log_quote(std::string_view v);

// ---- No personal data in the log (docs/data-protection.md) ----------------------------------
// A refusal's message and pointer go back to the sender in full, but a log line carries only
// what names the fault: the message with every value the sender wrote (Bluelink's messages
// quote them, 'like this') elided, and the JSON pointer with every token that is not a member
// some schema defines, or an array index, elided. So a member named after a person, or a value
// that is a phone number, never reaches the log.

/// Adds member names the schemas define (schema_set does, as it loads them). Thread-safe.
void log_learn_members(const std::vector<std::string>& names);

/// `message` with each '...' span written as '…' (the quotes kept, so the sentence still reads).
std::string log_reason(std::string_view message);

/// `pointer` with each token that is neither an array index nor a learnt member name written
/// as "…".
std::string log_pointer(std::string_view pointer);

}  // namespace bl
