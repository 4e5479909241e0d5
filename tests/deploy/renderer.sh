# Sourced: sets TEMPLATE to the command that renders a chart from ${HELM:-helm}.
# Real helm renders with `helm template ...`; a stand-alone renderer (helm-template)
# takes the same arguments without the subcommand; HELM may also name its directory.
# Returns 1 when no renderer is found.
helm_renderer() {
  local helm="${HELM:-helm}"
  [ -d "$helm" ] && helm="$helm/helm-template"
  command -v "$helm" >/dev/null 2>&1 || return 1
  if "$helm" version >/dev/null 2>&1; then TEMPLATE=("$helm" template); else TEMPLATE=("$helm"); fi
}
