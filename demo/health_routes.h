// The demo node's routes: request in, response out (or nothing: close the
// connection without answering, which is what mode=close asks for).
#pragma once

#include <boost/beast/http.hpp>
#include <optional>

#include "health_mode.h"

namespace demo::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

std::optional<Response> route(ModeSwitch& mode, const Request& req);

}  // namespace demo::http
