// Usage: node list_services.js HOST:PORT
// Prints every service the server exposes through gRPC server reflection, then
// resolves each one's descriptor (what grpcurl does before a call).
const { GrpcReflection } = require('grpc-js-reflection-client');
const grpc = require('@grpc/grpc-js');

(async () => {
  const client = new GrpcReflection(process.argv[2], grpc.credentials.createInsecure());
  const services = await client.listServices();
  for (const service of services) {
    await client.getDescriptorBySymbol(service);
    console.log(service);
  }
})().catch((e) => {
  console.error(`reflection failed: ${e.message}`);
  process.exit(1);
});
