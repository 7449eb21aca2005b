#include "tools/samples/sample_requests.hpp"

#include "gateway/core/time_util.hpp"

namespace bl::samples {

using nlohmann::json;

json a12_rtc_request(const std::string& id, const std::string& from, const std::string& to) {
  json m = json::parse(R"json({
    "type": "transfer.request",
    "mode": "live",
    "body": {
      "category": "police.traffic_management",
      "priority": "emergency",
      "ask": "attend",
      "summary": "RTC A12 London-bound J19-J18 Chelmsford, 2 vehicles, persons trapped, request road closure",
      "sender_incident": {"number": "F-2611-004512", "system": "ECFRS Vision"},
      "methane": {
        "major_incident": "not_declared",
        "exact_location": {
          "wgs84": {"lat": 51.7229, "lon": 0.5253, "accuracy_m": 25},
          "address": "A12 London-bound carriageway between J19 (Boreham) and J18 (Sandon), Chelmsford",
          "osgr": {"easting": 574520, "northing": 205704},
          "directions": "Lane 1 and hard shoulder, approx. 800 m before the J18 (Sandon) exit slip road",
          "rendezvous_point": "Hard shoulder behind the first fire appliance"
        },
        "type_of_incident": {
          "code": "RTC",
          "agency_code": "RTC-PERSONS-TRAPPED",
          "text": "Two-car collision, one driver trapped, vehicles across lanes 1 and 2"
        },
        "hazards": [
          {"hazard": "Live traffic on lane 3", "status": "present"},
          {"hazard": "Fuel leak from vehicle 2", "status": "suspected"},
          {"hazard": "Secondary collision in queuing traffic", "status": "potential"}
        ],
        "access": "Approach London-bound from J19; London-bound carriageway blocked at the scene",
        "casualties": {"immediate": 1, "minor": 1, "uninjured": 2,
                       "notes": "Driver of vehicle 1 trapped by the legs"},
        "emergency_services": {
          "present": ["Fire: 2 pumps and rescue tender (Chelmsford, Great Baddow)"],
          "required": ["Police: full closure London-bound J19-J18"]
        }
      },
      "contact": {"name": "FCO Sarah Patel", "role": "Fire Control Operator", "phone": "01632 960101"},
      "notes": "National Highways control informed by the caller. Extrication expected to take 40 minutes."
    }
  })json");
  m["id"] = id;
  m["from"] = from;
  m["to"] = json::array({to});
  m["sent_at"] = format_rfc3339(now_ms());
  return m;
}

}  // namespace bl::samples
