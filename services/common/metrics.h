#pragma once
// Prometheus metrics of every process: one registry, one /metrics endpoint
// (prometheus-cpp's exposer on its own port), gRPC server and client metrics
// named as the grpc-ecosystem convention SREs already query, and bucket sets
// shared by every latency histogram. Metrics are declared once, next to the
// code they measure, as function-local families on this registry. Labels take
// only bounded values (method names known to the binary, status codes,
// topics, reasons): never a driver, CP or session id.

#include <memory>
#include <string>

#include <grpcpp/support/client_interceptor.h>
#include <grpcpp/support/server_interceptor.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/status/statusor.h"

namespace evc::metrics {

prometheus::Registry& Registry();

// Serves /metrics on `address` (host:port; port 0 picks one) until the
// process ends; returns the port. Idempotent per process.
absl::StatusOr<int> Serve(const std::string& address);
// Serves /metrics where a service listening on `listen` should: on
// --metrics_listen (exits if it cannot), else on the same host with the port
// + 1000 (central 50053 -> 51053; only a warning if that port is taken).
// --metrics_listen=off: no endpoint.
void ServeFor(const std::string& listen);

// Seconds, 1 ms .. 10 s.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets();

// grpc_server_started_total, grpc_server_handled_total,
// grpc_server_msg_received_total, grpc_server_msg_sent_total,
// grpc_server_handling_seconds.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> ServerInterceptor();
// The same as grpc_client_* for the channels a process opens.
std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface> ClientInterceptor();

// "InvalidArgument" for INVALID_ARGUMENT: the grpc_code label values.
const char* CodeName(int code);

}  // namespace evc::metrics
