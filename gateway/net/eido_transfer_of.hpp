#pragma once
// How an edge that holds the store finds the transfer an earlier state of a partner's incident
// made (adapters::eido_import_context::transfer_of), shared by the EIDO conveyance
// (eido_session) and POST /api/v1/documents?standard=eido. The lookups read the store on the
// caller's thread and throw store::store_error when it cannot be read.
#include <functional>
#include <optional>
#include <string>

#include "adapters/eido/eido.hpp"
#include "gateway/store/reader.hpp"

namespace bl {

inline std::function<std::optional<adapters::eido_earlier_state>(const std::string&)>
eido_transfer_of(store::reader& reader, const std::string& agency) {
  return [&reader, agency](const std::string& incident_id) {
    return adapters::eido_earlier_state_of(
        agency, incident_id,
        [&](const std::string& message_id) {
          return reader.transfer_of_message(message_id, agency);
        },
        [&](const std::string& message_id) -> std::optional<std::string> {
          bool party = false;
          auto o = reader.original(message_id, agency, party);
          if (!o) return std::nullopt;
          return o->doc.body;
        });
  };
}

}  // namespace bl
