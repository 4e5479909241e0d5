// evc-migrate: applies the sql/ migrations embedded in it to --postgres_url and
// exits. Services apply them too at start-up (under the same advisory lock), so
// this is for deployments that migrate first: the Helm chart's pre-upgrade hook,
// a DBA with a privileged role, a CI step. Retries an unreachable Postgres with
// backoff until --startup_timeout.

#include <cstdio>

#include "services/common/log.h"
#include "services/common/process.h"
#include "services/common/service_main.h"
#include "services/common/sql_migrations.h"

// What --help says before the flags.
constexpr char kAbout[] =
    "evc-migrate: apply the embedded sql/ migrations to --postgres_url and exit.\n"
    "Services apply them too at start-up; this is for deployments that migrate first (the\n"
    "Helm chart's hook Job, a DBA with a privileged role, a CI step).\n"
    "\n"
    "usage: evc-migrate [--postgres_url=URL] [--startup_timeout=D]\n"
    "example:\n"
    "  evc-migrate --postgres_url=postgresql://evc@127.0.0.1:55432/evc\n";

int main(int argc, char** argv) {
  evc::InitProcess(argc, argv, "migrate", kAbout);
  evc::ServiceDeps deps = evc::ConnectDeps("migrate", {.postgres = true, .postgres_connections = 1});
  const auto& migrations = evc::EmbeddedMigrations();
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  evc::log::Info("schema up to date", {{"version", latest}});
  std::printf("schema at version %d (%zu migrations)\n", latest, migrations.size());
  return 0;
}
