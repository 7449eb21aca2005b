#pragma once
// Regular expressions that cannot overflow the stack or backtrack catastrophically, whatever the
// input. libstdc++'s std::regex runs its depth-first executor by default, which recurses once per
// input character (a 30,000-character string overflows an 8 MiB stack) and backtracks
// exponentially on nested quantifiers. Compiled with the (libstdc++) __polynomial flag it always
// uses the breadth-first (Thompson) executor instead: it walks the input in a loop, keeps one set
// of states per position and recurses only through the pattern's own states. Back-references
// would force the depth-first executor again, so patterns that use them are refused.
//
// Every std::regex applied to input from outside (schema patterns, adapter checks) is made here.

#include <regex>
#include <string>
#include <string_view>

namespace bl {

/// Whether `pattern` (ECMAScript syntax) contains a back-reference (\1 .. \9, \k<name>).
bool has_back_reference(std::string_view pattern);

/// Compiles `pattern` (ECMAScript) for the breadth-first executor. Throws std::regex_error for a
/// pattern that does not compile and std::invalid_argument for one with a back-reference.
std::regex make_safe_regex(std::string_view pattern);

/// Whether `re` was made by make_safe_regex() (or has the same flags): matching it cannot recurse
/// per input character.
bool is_safe_regex(const std::regex& re);

}  // namespace bl
