/**
 * Baton's layers, checked by `npm run check` (dependency-cruiser):
 *
 *   transport  src/graphql, src/http, src/app.ts, src/main.ts, src/cli.ts   GraphQL, WebSocket, HTTP
 *   domain     src/modules/** services, writers and entities; src/jobs       rules and their effects
 *   ports      src/events                                                    publishing after commit
 *   kernel     src/kernel, src/db, src/errors.ts, src/validation.ts, ...     pages, database, errors, config
 *
 * Arrows point down: transport -> domain -> events/kernel -> nothing above them.
 */
const transport = "^src/(graphql|http)/|^src/(app|main|cli)\\.ts$";
const resolvers = "^src/modules/.+\\.resolver\\.ts$";

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "A circle makes every module in it depend on every other one.",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "domain-not-to-transport",
      severity: "error",
      comment: "Services, writers, entities and jobs know nothing of GraphQL, sockets or HTTP.",
      from: { path: "^src/(modules|jobs)/", pathNot: resolvers },
      to: { path: [transport, resolvers] },
    },
    {
      name: "events-and-kernel-not-upward",
      severity: "error",
      comment: "The publishing port and the kernel (database, errors, config) depend on nothing above them.",
      from: { path: "^src/(events|db|kernel)/|^src/(errors|validation|config|logger|startup-error|metrics|rate-limits)\\.ts$" },
      to: { path: [transport, resolvers, "^src/jobs/"] },
    },
    {
      name: "kernel-without-graphql",
      severity: "error",
      comment: "Errors, pages, the database and the publishing port are GraphQL-free: the edges map them (src/graphql/errors.ts).",
      from: { path: "^src/(events|db|kernel)/|^src/(errors|validation|config|logger|startup-error|metrics|rate-limits)\\.ts$" },
      to: { path: "^node_modules/(graphql|@apollo|graphql-ws|type-graphql|express)/" },
    },
    {
      name: "src-not-to-test",
      severity: "error",
      comment: "Production code never imports the tests.",
      from: { path: "^src/" },
      to: { path: "^test/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "^(dist|schema/generated)/" },
  },
};
