#include "protocol/error_body.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace sonde::protocol {

std::string error_json(const std::string& code, const std::string& message) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("error");
  w.StartObject();
  w.Key("code");
  w.String(code.c_str(), static_cast<rapidjson::SizeType>(code.size()));
  w.Key("message");
  w.String(message.c_str(), static_cast<rapidjson::SizeType>(message.size()));
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

std::string error_json(const Error& e) { return error_json(error_code_name(e.code), e.message); }

}  // namespace sonde::protocol
