#pragma once
// The edge's real route table for fuzz targets, built once (they run many
// inputs in one process and must not leak per input).

#include "services/edge/routes.h"

namespace evc::edge {

inline const RouteTable& FuzzRoutes() {
  static const RouteTable* routes = new RouteTable(*ProjectRoutes());
  return *routes;
}

}  // namespace evc::edge
