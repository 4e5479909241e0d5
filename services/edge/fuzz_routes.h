#pragma once
// The edge's real route table for fuzz targets, built once (they run many
// inputs in one process and must not leak per input).

#include "evc/proto_files.h"
#include "services/edge/routes.h"

namespace evc::edge {

inline const RouteTable& FuzzRoutes() {
  static const RouteTable* routes = new RouteTable(*RouteTable::Build(*LinkedServices(proto::ServiceProtoFiles())));
  return *routes;
}

}  // namespace evc::edge
