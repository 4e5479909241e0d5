# Writes OUTPUT: a C++ file defining evc::ocpp::EmbeddedOcpp16Schemas() from
# SCHEMAS (the OCPP 1.6J JSON schemas, schemas/ocpp1_6.json), so the binary
# validates against exactly the file in the repo without reading it at run time.
file(READ ${SCHEMAS} content)
string(FIND "${content}" ")ocppschema\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${SCHEMAS} contains the raw string delimiter")
endif()
file(WRITE ${OUTPUT}.tmp "// Generated from services/ocpp/schemas/ocpp1_6.json by services/ocpp/embed_schemas.cmake.\n#include \"services/ocpp/schemas.h\"\n\nnamespace evc::ocpp {\n\nstd::string_view EmbeddedOcpp16Schemas() {\n  static constexpr char kSchemas[] = R\"ocppschema(${content})ocppschema\";\n  return std::string_view(kSchemas, sizeof(kSchemas) - 1);\n}\n\n}  // namespace evc::ocpp\n")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
