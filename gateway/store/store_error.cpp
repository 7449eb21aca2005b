#include "gateway/store/store_error.hpp"

namespace bl::store {

std::string_view fault_name(fault f) {
  switch (f) {
    case fault::full:
      return "full";
    case fault::busy:
      return "busy";
    case fault::unavailable:
      return "unavailable";
    case fault::conflict:
      return "conflict";
    case fault::corrupt:
      return "corrupt";
  }
  return "unavailable";
}

error to_error(const store_error& e) {
  switch (e.kind()) {
    case fault::full:
      return make_error(errc::store_full, e.what());
    case fault::busy:
      return make_error(errc::store_busy, e.what());
    case fault::conflict:
      return make_error(errc::store_conflict, e.what());
    case fault::corrupt:
      return make_error(errc::store_corrupt, e.what());
    case fault::unavailable:
      break;
  }
  return make_error(errc::store_unavailable, e.what());
}

}  // namespace bl::store
